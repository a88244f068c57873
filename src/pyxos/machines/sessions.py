"""Exactly-once execution of client commands, with a session table in the replicated state.

A client retries a command until it hears an answer, so one command can reach the log more than
once (a retry to a new leader, a duplicate proposal after a view change). Applying it twice
would break linearizability (think of an increment, or a `Cas` that then fails against its own
write), so each replica remembers, per client, the last `seq` it applied and that command's
result. Every replica applies the same commands in the same order, so every replica's table is
the same, and it must be snapshotted and restored together with the machine.

Assumptions:

- A client has at most one command outstanding and numbers its commands 1, 2, 3, ...; it sends
  `seq + 1` only after it has the answer to `seq`. So only the latest result per client is
  kept: a `seq` below it can only be a late copy of a command whose answer the client has.
- A `seq` below 1 is never applied (it is stale against the empty session): log contents
  must not crash a replica, so a malformed seq is ignored rather than raised on.
- Client id 0 (`NO_SESSION`) marks internal commands (NOOP filler and the like): always
  applied, never recorded.

Sessions never expire yet, so the table grows with the number of clients ever seen. Expiry
will come through a command stamped with the leader's time (never a clock read here), applied
like any other command so that every replica expires the same sessions at the same slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

import msgspec

from pyxos.machines.base import ApplyContext, StateMachine

NO_SESSION = 0
"""The client id of commands that bypass the session table."""
READS_MIN = 1 << 31
READS_MAX = 1 << 32
"""Client ids in `READS_MIN..READS_MAX-1` are a node's reads through the log (node `n` uses
`READS_MIN + n`): they change nothing, are never recorded, and are always answered."""


def has_session(client_id: int) -> bool:
    """False for `NO_SESSION` and the reads' ids: their commands bypass the table."""
    return client_id != NO_SESSION and not READS_MIN <= client_id < READS_MAX


@dataclass(frozen=True, slots=True, kw_only=True)
class Fresh:
    """Never applied: apply it, then `record` the result."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Duplicate:
    """Already applied: answer with `result`, do not apply again."""

    result: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Stale:
    """Older than the client's last applied command: do not apply; the client has moved on."""


FRESH = Fresh()
STALE = Stale()

SessionCheck = Fresh | Duplicate | Stale


class _Session(msgspec.Struct, frozen=True, array_like=True):
    client_id: int
    seq: int
    result: bytes


class _Snapshot(msgspec.Struct, frozen=True, array_like=True, tag="sessions1"):
    # Sorted by client id, so equal tables give equal bytes.
    sessions: list[_Session]


_SNAPSHOT_ENCODER = msgspec.msgpack.Encoder()
_SNAPSHOT_DECODER = msgspec.msgpack.Decoder(_Snapshot)


class SessionTable:
    """The last applied `(seq, result)` of every client."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[int, tuple[int, bytes]] = {}

    def check(self, client_id: int, seq: int) -> SessionCheck:
        """Classify command `(client_id, seq)` against the table. Never raises."""
        last = self._last.get(client_id)
        last_seq = 0 if last is None else last[0]
        if seq > last_seq:
            return FRESH
        if last is not None and seq == last_seq:
            return Duplicate(result=last[1])
        return STALE

    def record(self, client_id: int, seq: int, result: bytes) -> None:
        """Remember `result` as the answer to `(client_id, seq)`, just applied.

        Raises `ValueError`, changing nothing, for `NO_SESSION` or a `seq` that `check` would
        not have called fresh: either is a bug in the caller.
        """
        if client_id == NO_SESSION:
            raise ValueError("client id 0 has no session and is never recorded")
        if seq <= self.last_seq(client_id):
            raise ValueError(
                f"client {client_id}: seq {seq} is not after {self.last_seq(client_id)}"
            )
        self._last[client_id] = (seq, result)

    def last_seq(self, client_id: int) -> int:
        """The last applied seq of `client_id`; 0 if it has none."""
        last = self._last.get(client_id)
        return 0 if last is None else last[0]

    def snapshot(self) -> bytes:
        sessions = [
            _Session(client_id=c, seq=seq, result=result)
            for c, (seq, result) in sorted(self._last.items())
        ]
        return _SNAPSHOT_ENCODER.encode(_Snapshot(sessions=sessions))

    def restore(self, data: bytes) -> None:
        """Replace the table; raises `ValueError` on bad bytes and then changes nothing."""
        sessions = _SNAPSHOT_DECODER.decode(data).sessions
        _check_loaded(sessions)
        self._last = {s.client_id: (s.seq, s.result) for s in sessions}

    def __len__(self) -> int:
        return len(self._last)


def _check_loaded(sessions: list[_Session]) -> None:
    # The same rules `record` enforces, checked again after loading: ascending ids also rule
    # out a client appearing twice.
    previous = None
    for s in sessions:
        if s.client_id == NO_SESSION or s.seq < 1:
            raise ValueError(f"bad session in snapshot: client {s.client_id} seq {s.seq}")
        if previous is not None and s.client_id <= previous:
            raise ValueError(f"snapshot sessions not in ascending client order at {s.client_id}")
        previous = s.client_id


def apply_command(
    machine: StateMachine, sessions: SessionTable, op: bytes, ctx: ApplyContext
) -> bytes | None:
    """Apply `op` at most once per `(ctx.client_id, ctx.seq)` and return the result to answer.

    A fresh command is applied and recorded; a duplicate is answered from the table without
    applying; a stale one returns None (nobody waits for it). `NO_SESSION` always applies.
    """
    client_id, seq = ctx.client_id, ctx.seq
    if not has_session(client_id):
        return machine.apply(op, ctx)
    match sessions.check(client_id, seq):
        case Fresh():
            result = machine.apply(op, ctx)
            sessions.record(client_id, seq, result)
            return result
        case Duplicate(result=cached):
            return cached
        case Stale():
            return None
        case unreachable:
            assert_never(unreachable)
