"""The simulated disk: an append-only record log whose unsynced suffix a crash loses.

`append` writes records (not yet durable); `start_sync` begins a sync covering everything
appended so far and says when it completes (a random latency, never before an earlier sync:
syncs complete in order); `complete_sync` makes the covered records durable and returns them, so
the runner can show them to the checkers exactly when they become durable. `crash` forgets the
unsynced suffix and every sync in flight. Torn records are not modelled here: the record is the
unit (torn bytes are the write-ahead log's concern, tested with the log itself).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from random import Random

from pyxos.core.records import Record, Snapshot, covers


class SimDisk:
    """One node's disk. Survives the node's crashes; only `synced` survives a crash."""

    __slots__ = (
        "_inflight",
        "_last_done_us",
        "_latency_us_max",
        "_latency_us_min",
        "_next_sync",
        "_rng",
        "_synced_len",
        "_written",
        "lost",
        "snapshot",
        "syncs",
    )

    def __init__(self, rng: Random, *, latency_us_min: int, latency_us_max: int) -> None:
        self._rng = rng
        self._latency_us_min = latency_us_min
        self._latency_us_max = latency_us_max
        self._written: list[Record] = []
        self._synced_len = 0
        self._inflight: deque[tuple[int, int]] = deque()  # (sync id, records covered upto)
        self._next_sync = 0
        self._last_done_us = 0
        self.syncs = 0
        self.lost = 0
        self.snapshot: Snapshot | None = None  # durable as soon as it is saved

    def append(self, records: Sequence[Record]) -> None:
        """Write records after the existing ones; they are durable once a later sync completes."""
        self._written.extend(records)

    def start_sync(self, now_us: int) -> tuple[int, int]:
        """Begin a sync of everything appended so far. Returns `(sync id, completion time us)`."""
        self._next_sync += 1
        low = self._latency_us_min
        done_us = now_us + low + int(self._rng.random() * (self._latency_us_max - low + 1))
        done_us = max(done_us, self._last_done_us)
        self._last_done_us = done_us
        self._inflight.append((self._next_sync, len(self._written)))
        return self._next_sync, done_us

    def complete_sync(self, sync_id: int) -> list[Record]:
        """Finish the oldest sync in flight (which must be `sync_id`); return the new durable
        records, in write order."""
        if not self._inflight or self._inflight[0][0] != sync_id:
            raise ValueError(f"sync {sync_id} completes out of order")
        _, upto = self._inflight.popleft()
        self.syncs += 1
        if upto <= self._synced_len:
            return []
        fresh = self._written[self._synced_len : upto]
        self._synced_len = upto
        return fresh

    def save_snapshot(self, snapshot: Snapshot) -> int:
        """Durably store `snapshot` (write, sync, rename: atomic here) and drop every record it
        covers, synced or not. Returns how many records were dropped."""
        if self.snapshot is not None and snapshot.slot <= self.snapshot.slot:
            return 0
        self.snapshot = snapshot
        kept: list[Record] = []
        synced_len = 0
        # Map old positions to new ones so that syncs in flight still cover the same records.
        new_position = [0] * (len(self._written) + 1)
        for index, record in enumerate(self._written):
            new_position[index] = len(kept)
            if not covers(snapshot, record):
                kept.append(record)
            if index + 1 == self._synced_len:
                synced_len = len(kept)
        new_position[len(self._written)] = len(kept)
        dropped = len(self._written) - len(kept)
        self._written = kept
        self._synced_len = synced_len if self._synced_len else 0
        self._inflight = deque((sync_id, new_position[upto]) for sync_id, upto in self._inflight)
        return dropped

    def crash(self) -> int:
        """Lose the unsynced suffix and every sync in flight. Returns how many records were lost."""
        lost = len(self._written) - self._synced_len
        del self._written[self._synced_len :]
        self._inflight.clear()
        self.lost += lost
        return lost

    @property
    def synced(self) -> tuple[Record, ...]:
        """The durable records, in write order (what a restarted node loads)."""
        return tuple(self._written[: self._synced_len])

    @property
    def unsynced_count(self) -> int:
        return len(self._written) - self._synced_len

    @property
    def syncing(self) -> bool:
        return bool(self._inflight)
