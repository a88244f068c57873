"""Group commit: which records and snapshots go to the disk in the next write round, and when.

Theory of operation. Records get consecutive positions as a node's `Persist` effects hand them
over; snapshots (`SaveSnapshot`) take their place in the same sequence, so the disk installs
each one after the records handed over before it. The disk runs one round at a time: append
every item handed over since the previous round, install its snapshots where they fall, sync
once. Items handed over while a round runs wait for the next one, so under load one sync covers
many steps' records.

A round is started only when something waits for it: a barrier `Persist` (effects queue behind
it in the gate) or the driver's periodic `want_all` (a tick), so that records which need no
barrier (decided values, which a replica could learn again; snapshots, which cover only what is
already decided) never cost a sync of their own on the hot path: they ride with the next round.

`GroupCommit` is the policy and the bookkeeping; the driver runs the round on its disk (the
write-ahead log in a worker thread, the simulated disk in virtual time) and calls `finish` when
it is durable.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyxos.core.io import DurableRecord
from pyxos.core.snapshot import Snapshot

WriteItem = DurableRecord | Snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteRound:
    """One round for the disk: append `items` in order (installing snapshots where they fall),
    then sync. Once it is done the log is durable up to record position `upto`."""

    items: tuple[WriteItem, ...]
    upto: int

    @property
    def records(self) -> tuple[DurableRecord, ...]:
        return tuple(item for item in self.items if not isinstance(item, Snapshot))

    @property
    def snapshots(self) -> tuple[Snapshot, ...]:
        return tuple(item for item in self.items if isinstance(item, Snapshot))


class GroupCommit:
    """The log writer's state: what is handed over, wanted, in flight and durable."""

    __slots__ = ("_all_wanted", "_unsynced", "appended", "durable", "in_flight", "wanted")

    def __init__(self) -> None:
        self._unsynced: list[WriteItem] = []
        self._all_wanted = False  # everything handed over is wanted, snapshots included
        self.appended = 0  # position of the last record handed over
        self.durable = 0  # position up to which the log is synced
        self.wanted = 0  # a sync is wanted up to here (the last barrier, or `want_all`)
        self.in_flight: WriteRound | None = None

    def append(self, records: tuple[DurableRecord, ...], *, barrier: bool) -> int | None:
        """Hand over `records`; for a barrier, the position later effects must wait for (None
        if nothing is left to wait for)."""
        if records:
            self._unsynced.extend(records)
            self.appended += len(records)
        if barrier and self.appended > self.durable:
            self.wanted = self.appended
            return self.appended
        return None

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Hand over a snapshot: installed after the records handed over before it."""
        self._unsynced.append(snapshot)

    def want_all(self) -> None:
        """Make everything handed over so far durable soon (a tick, or the disk pushing back)."""
        if self._unsynced:
            self.wanted = self.appended
            self._all_wanted = True

    @property
    def backlog(self) -> int:
        """Records handed over and not yet durable."""
        return self.appended - self.durable

    def take_round(self) -> WriteRound | None:
        """The next round, if none is in flight and something handed over is wanted durable."""
        if self.in_flight is not None or not self._unsynced:
            return None
        if self.wanted <= self.durable and not self._all_wanted:
            return None
        items, self._unsynced = self._unsynced, []
        self._all_wanted = False
        self.in_flight = WriteRound(items=tuple(items), upto=self.appended)
        return self.in_flight

    def take_rest(self) -> WriteRound | None:
        """Everything not yet in a round, wanted or not (a clean stop's final round)."""
        if self.in_flight is not None or not self._unsynced:
            return None
        self.wanted = self.appended
        self._all_wanted = True
        return self.take_round()

    def finish(self, round_: WriteRound) -> int:
        """The disk finished `round_`: returns the new durable position."""
        if round_ is not self.in_flight:
            raise AssertionError("a write round finished that was not the one in flight")
        self.in_flight = None
        self.durable = max(self.durable, round_.upto)
        return self.durable
