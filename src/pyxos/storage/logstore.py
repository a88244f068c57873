"""The `LogStore` interface, the values it speaks in, and `MemoryLogStore`, its in-memory twin.

A store is used in one pattern: `load()` once (recover what survived), then any number of
`append(records)` (buffered, not durable), `sync()` (everything appended so far is durable),
`install_snapshot(snapshot)`, and finally `close()`. A store whose disk failed raises
`StorageFailed` from every call after the failure (fail-stop).

This module does no I/O, so the simulator can use `MemoryLogStore` as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from pyxos.core.io import DurableRecord as Record
from pyxos.core.protocol import ProtocolSpec
from pyxos.core.protocols import DEFAULT_PROTOCOL, protocol_spec
from pyxos.core.snapshot import Snapshot
from pyxos.storage.errors import StorageFailed, StoreStateError


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedLog:
    """What survived: the latest snapshot (if any) and the log records after it, in write order.

    `records` is a suffix of everything ever appended that holds every record the snapshot does
    not cover (see `covers`); it may also start with some covered records, which the caller
    ignores. `repaired_bytes` is how much of a torn tail was truncated (0 if none).
    """

    records: tuple[Record, ...]
    snapshot: Snapshot | None
    repaired_bytes: int = 0


# `Snapshot` is the core's; re-exported because the store speaks in it.
__all__ = ["LoadedLog", "LogStore", "MemoryLogStore", "Snapshot", "write_round"]


class LogStore(Protocol):
    def load(self) -> LoadedLog:
        """Recover: repair a torn tail, return the latest snapshot and the records after it.

        Raises `CorruptLog` / `CorruptSnapshot` on damage that is not a torn tail.
        """
        ...

    def append(self, records: Sequence[Record]) -> None:
        """Add records after the existing ones. Not durable until a later `sync` returns."""
        ...

    def sync(self) -> None:
        """Make everything appended so far durable. Raises `StorageFailed` (fail-stop)."""
        ...

    def install_snapshot(self, snapshot: Snapshot) -> None:
        """Sync, durably write `snapshot`, then delete log records it covers (whole segments
        for the write-ahead log). Raises `ValueError` for a snapshot older than the current."""
        ...

    def close(self) -> None:
        """Release the store. Does not sync: unsynced records may or may not survive."""
        ...


class _State(Enum):
    CLOSED = "closed"  # not loaded yet, or closed/crashed: only `load` is allowed
    OPEN = "open"
    FAILED = "failed"


class MemoryLogStore:
    """A `LogStore` in memory, which also plays the disk: it outlives `close` and `crash`.

    `crash()` is a power loss: the unsynced suffix is gone, and the store waits for the next
    `load()` (the restarted node). `close()` is a clean exit: everything appended is kept, as
    the page cache keeps what a process wrote. `fail_next_sync()` makes the next `sync` fail as
    a broken disk would; the store then stays failed until `crash()`.
    """

    __slots__ = (
        "_fail_next_sync",
        "_protocol",
        "_records",
        "_snapshot",
        "_state",
        "_synced",
        "syncs",
    )

    def __init__(self, protocol: ProtocolSpec | None = None) -> None:
        """A store of `protocol`'s records (Multi-Paxos if not given)."""
        self._protocol = protocol if protocol is not None else protocol_spec(DEFAULT_PROTOCOL)
        self._records: list[Record] = []
        self._synced = 0  # records[:synced] are durable
        self._snapshot: Snapshot | None = None
        self._state = _State.CLOSED
        self._fail_next_sync = False
        self.syncs = 0

    def load(self) -> LoadedLog:
        if self._state is not _State.CLOSED:
            raise StoreStateError(f"load() on a store that is {self._state.value}")
        self._state = _State.OPEN
        return LoadedLog(records=tuple(self._records), snapshot=self._snapshot)

    def append(self, records: Sequence[Record]) -> None:
        self._require_open("append")
        classes = self._protocol.record_classes
        for record in records:
            if not isinstance(record, classes):
                raise TypeError(f"not a {self._protocol.name} log record: {record!r}")
        self._records.extend(records)

    def sync(self) -> None:
        self._require_open("sync")
        if self._fail_next_sync:
            self._state = _State.FAILED
            raise StorageFailed("memory log store: injected sync failure")
        self._synced = len(self._records)
        self.syncs += 1

    def install_snapshot(self, snapshot: Snapshot) -> None:
        self._require_open("install_snapshot")
        if self._snapshot is not None and snapshot.slot < self._snapshot.slot:
            raise ValueError(f"snapshot at {snapshot.slot} is older than {self._snapshot.slot}")
        self.sync()
        self._snapshot = snapshot
        covered = 0
        covers = self._protocol.covers
        for record in self._records:
            if not covers(snapshot, record):
                break
            covered += 1
        del self._records[:covered]
        self._synced = len(self._records)

    def close(self) -> None:
        if self._state is _State.OPEN:
            self._state = _State.CLOSED

    def crash(self) -> int:
        """Lose the unsynced suffix; the store waits for `load`. Returns the records lost."""
        lost = len(self._records) - self._synced
        del self._records[self._synced :]
        self._state = _State.CLOSED
        self._fail_next_sync = False
        return lost

    def fail_next_sync(self) -> None:
        self._fail_next_sync = True

    @property
    def durable(self) -> tuple[Record, ...]:
        """The records a crash now would keep (for tests and checkers)."""
        return tuple(self._records[: self._synced])

    def _require_open(self, call: str) -> None:
        if self._state is _State.FAILED:
            raise StorageFailed(f"{call}() on a failed store (fail-stop)")
        if self._state is not _State.OPEN:
            raise StoreStateError(f"{call}() on a store that is {self._state.value}")


def write_round(store: LogStore, items: list[Record | Snapshot]) -> None:
    """One group-commit round: append `items` in order, installing snapshots where they fall,
    then one sync. Raises what the store raises (`StorageFailed`: the node must stop)."""
    run: list[Record] = []
    for item in items:
        if isinstance(item, Snapshot):
            if run:
                store.append(run)
                run = []
            store.install_snapshot(item)
        else:
            run.append(item)
    if run:
        store.append(run)
    store.sync()
