"""The node's snapshot state: the state machine and the session table, taken together.

They must travel together: restoring a machine without the sessions that deduplicate its
commands would let a retried command apply twice.
"""

from __future__ import annotations

import msgspec

from pyxos.machines.base import StateMachine
from pyxos.machines.sessions import SessionTable


class NodeState(msgspec.Struct, frozen=True, kw_only=True, array_like=True, tag="node1"):
    machine: bytes
    sessions: bytes
    time_ms: int = 0  # log time (see `core/clock.py`)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(NodeState)


def capture(machine: StateMachine, sessions: SessionTable, time_ms: int) -> bytes:
    state = NodeState(machine=machine.snapshot(), sessions=sessions.snapshot(), time_ms=time_ms)
    return _encoder.encode(state)


def restore(data: bytes, machine: StateMachine, sessions: SessionTable) -> int:
    """Replace `machine` and `sessions` with the snapshot `data` and return its log time;
    ValueError if it is damaged."""
    try:
        state = _decoder.decode(data)
    except ValueError as exc:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
        raise ValueError(f"bad node snapshot: {exc}") from exc
    machine.restore(state.machine)
    sessions.restore(state.sessions)
    return state.time_ms
