"""The simulated disk: an append-only record log whose unsynced suffix a crash loses.

It is the simulator's side of the effect executor's disk interface (`pyxos.exec`): a write
round appends its records (`append`, not yet durable) and starts a sync covering everything
appended so far (`start_sync`, which says when it completes: a random latency, never before an
earlier sync); when it completes, `complete_sync` makes the covered records durable and returns
them, so the runner can show them to the checkers exactly when they become durable, and the
round's snapshots are saved (`save_snapshot`: written, synced and renamed at once).

`crash` forgets the unsynced suffix and every sync in flight; half the time it also tears the
first unsynced record (a prefix of its frame reaches the disk). `recover` then runs the
write-ahead log's real frame scanner over the disk's bytes, as a restarting node does, and must
find exactly the synced records followed by a torn tail to cut off. `corrupt` flips a bit
inside a synced record that is not the last one (damage no crash explains): the scanner must
report it, and the node must not start until it is rebuilt (`wipe`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from random import Random

from pyxos.core.io import DurableRecord as Record
from pyxos.core.protocol import ProtocolSpec
from pyxos.core.snapshot import Snapshot
from pyxos.wire.log_frames import Clean, Corrupt, RecordCodec, TornTail, scan_bytes

TORN_WRITE_P = 0.5
"""How often a crash with unsynced records leaves a torn prefix of the first one on disk."""


class SimDisk:
    """One node's disk. Survives the node's crashes; only `synced` survives a crash."""

    __slots__ = (
        "_codec",
        "_covers",
        "_inflight",
        "_last_done_us",
        "_latency_us_max",
        "_latency_us_min",
        "_next_sync",
        "_rng",
        "_synced_len",
        "_written",
        "corrupt_at",
        "lost",
        "snapshot",
        "syncs",
        "torn",
    )

    def __init__(
        self, rng: Random, *, latency_us_min: int, latency_us_max: int, protocol: ProtocolSpec
    ) -> None:
        self._codec = RecordCodec(protocol)
        self._covers = protocol.covers
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
        self.torn = b""  # a torn frame after the synced records, left by the last crash
        # (record index, bit index within its frame) of a flipped bit, until the disk is wiped
        self.corrupt_at: tuple[int, int] | None = None

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
        covers = self._covers
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
        if lost and self._rng.random() < TORN_WRITE_P:
            frame = self._codec.frame(self._written[self._synced_len])
            self.torn = frame[: 1 + int(self._rng.random() * (len(frame) - 1))]
        del self._written[self._synced_len :]
        self._inflight.clear()
        self.lost += lost
        return lost

    def corrupt(self, rng: Random) -> bool:
        """Flip one bit inside a synced record that is not the last; False if there is none."""
        if self._synced_len < 2:
            return False
        index = int(rng.random() * (self._synced_len - 1))
        bits = 8 * len(self._codec.frame(self._written[index]))
        self.corrupt_at = (index, int(rng.random() * bits))
        return True

    def wipe(self) -> None:
        """The operator moved the node's data away: an empty disk."""
        self._written = []
        self._synced_len = 0
        self._inflight.clear()
        self.snapshot = None
        self.torn = b""
        self.corrupt_at = None

    def recover(self) -> tuple[bool, str | None, str | None]:
        """Scan the disk's bytes as a restarting node does and repair a torn tail.

        Returns `(repaired, problem, corrupt)`: whether a torn tail was cut off; a description if
        the scan did not give back what it should (a bug in the scanner or the framing); and the
        scanner's report if the log is corrupt (the node must refuse to start).
        """
        synced = self._written[: self._synced_len]
        if self.corrupt_at is not None:
            return False, *self._scan_corrupt(synced, *self.corrupt_at)
        data = self._frames(synced)
        frames, end = scan_bytes(data + self.torn, codec=self._codec)
        torn, self.torn = self.torn, b""
        problem = None
        if [frame.record for frame in frames] != synced:
            problem = f"recovered {len(frames)} records, {len(synced)} were synced"
        elif torn and not (isinstance(end, TornTail) and end.offset == len(data)):
            problem = f"a torn tail of {len(torn)} bytes at offset {len(data)} read as {end}"
        elif not torn and not isinstance(end, Clean):
            problem = f"an intact log read as {end}"
        return bool(torn), problem, None

    def _frames(self, records: list[Record]) -> bytes:
        return b"".join(self._codec.frame(r) for r in records)

    def _scan_corrupt(self, synced: list[Record], index: int, bit: int) -> tuple[str | None, str]:
        start = len(self._frames(synced[:index]))
        data = bytearray(self._frames(synced))
        data[start + bit // 8] ^= 1 << (bit % 8)
        _, end = scan_bytes(bytes(data), codec=self._codec)
        if isinstance(end, Corrupt):
            return None, f"corrupt log at offset {end.offset}: {end.reason}"
        return f"a flipped bit in record {index} of {len(synced)} read as {end}", "undetected"

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
