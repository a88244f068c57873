"""What a node keeps per object when its protocol orders each object on its own.

With `ExecutionOrder.PER_OBJECT` (WPaxos) two replicas may apply commands of different objects
in different orders, so nothing in the replicated state may depend on that order. The node
therefore keeps, per object, what it keeps once for a single log:

- the session table: a client's command 5 for one key and 6 for another can be applied in
  either order, and one table would call 5 stale after 6 on one replica and apply it on
  another;
- log time: the highest stamp applied *in that object*, so that the object holding the
  time-based machines (locks) sees the same time at the same command on every replica;
- the last slot applied of each object: a snapshot's cut.

A snapshot holds all of it (`capture`, `restore`), beside the machine's own snapshot.
"""

from __future__ import annotations

import msgspec

from pyxos.core.ids import Slot
from pyxos.machines.sessions import SessionTable


class _ObjectState(msgspec.Struct, frozen=True, array_like=True):
    obj: bytes
    applied: Slot
    time_ms: int
    sessions: bytes


class _State(msgspec.Struct, frozen=True, kw_only=True, array_like=True, tag="objects1"):
    """A node's snapshot state under a protocol with a log per object."""

    machine: bytes
    objects: list[_ObjectState]
    time_ms: int = 0


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_State)


class PerObject:
    """Session tables, log times and applied slots, by object."""

    __slots__ = ("_sessions", "_times", "applied")

    def __init__(self) -> None:
        self._sessions: dict[bytes, SessionTable] = {}
        self._times: dict[bytes, int] = {}
        self.applied: dict[bytes, Slot] = {}

    def sessions(self, obj: bytes) -> SessionTable:
        table = self._sessions.get(obj)
        if table is None:
            table = self._sessions[obj] = SessionTable()
        return table

    def time_ms(self, obj: bytes) -> int:
        """The object's log time (0 before any stamp)."""
        return self._times.get(obj, 0)

    def stamp(self, obj: bytes, time_ms: int) -> int:
        """A batch stamped `time_ms` is applied in `obj`: its log time now."""
        now = max(self._times.get(obj, 0), time_ms)
        self._times[obj] = now
        return now

    def cuts(self) -> tuple[tuple[bytes, Slot], ...]:
        """Each object's last applied slot, sorted by object (what `Compact` carries)."""
        return tuple(sorted(self.applied.items()))

    def capture(self, machine: bytes, time_ms: int) -> bytes:
        """The snapshot state: `machine` (the machine's own snapshot) and every object's."""
        objects = [
            _ObjectState(
                obj=obj,
                applied=applied,
                time_ms=self._times.get(obj, 0),
                sessions=self.sessions(obj).snapshot(),
            )
            for obj, applied in sorted(self.applied.items())
        ]
        return _encoder.encode(_State(machine=machine, objects=objects, time_ms=time_ms))

    def restore(self, data: bytes) -> tuple[bytes, int]:
        """Replace every object's state with the snapshot `data`; returns the machine's own
        snapshot and the node's log time. `ValueError` if it is damaged (nothing changed)."""
        try:
            state = _decoder.decode(data)
        except ValueError as exc:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            raise ValueError(f"bad node snapshot: {exc}") from exc
        sessions: dict[bytes, SessionTable] = {}
        for one in state.objects:
            table = sessions[one.obj] = SessionTable()
            table.restore(one.sessions)
        self._sessions = sessions
        self._times = {one.obj: one.time_ms for one in state.objects}
        self.applied = {one.obj: one.applied for one in state.objects}
        return state.machine, state.time_ms
