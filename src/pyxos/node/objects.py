"""What a node keeps per object when its protocol orders each object on its own.

With `ExecutionOrder.PER_OBJECT` (WPaxos) two replicas may apply commands of different objects
in different orders, so nothing in the replicated state may depend on that order. The node
therefore keeps, per object, what it keeps once for a single log:

- the session table: a client's command 5 for one key and 6 for another can be applied in
  either order, and one table would call 5 stale after 6 on one replica and apply it on
  another;
- log time: the highest stamp applied *in that object*, so that the object holding the
  time-based machines (locks) sees the same time at the same command on every replica.
"""

from __future__ import annotations

from pyxos.machines.sessions import SessionTable


class PerObject:
    """Session tables and log times, by object."""

    __slots__ = ("_sessions", "_times")

    def __init__(self) -> None:
        self._sessions: dict[bytes, SessionTable] = {}
        self._times: dict[bytes, int] = {}

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
