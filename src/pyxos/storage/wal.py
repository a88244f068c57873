"""The write-ahead log: a directory of append-only, CRC-framed segment files.

Theory of operation.

- Layout. `wal-<first-seq:016x>.log` segments hold frames (see `codec`); every record has a
  sequence number, its position in the log since the first record ever written, and a segment is
  named after the sequence number of its first record. `snap-<slot:016x>.snap` is the latest
  snapshot (see `snapshot`); `LOCK` keeps a second process out (an advisory `flock`, released by
  the kernel when the holder dies, even by kill -9). `FORMAT` names the log's format and the
  protocol whose records it holds (`pyxos-wal 1` and, say, `protocol multipaxos/1`): a node of
  another protocol, or of an incompatible version of it, refuses the directory instead of
  misreading it. A directory from before `FORMAT` existed holds Multi-Paxos records.
- Appending. `append` encodes records into frames in memory; `sync` writes them with one
  `write` per segment touched (`O_APPEND`) and `fdatasync`s the segment. A segment is rolled
  when the next frame would take it past `segment_bytes_max`: the full segment is synced first,
  then the new file is created, fsynced, and the directory fsynced. So only the last segment can
  ever have an unsynced (and so possibly torn) tail, and a new name is durable before any record
  in it is acknowledged.
- Failure. Any `OSError` while writing or syncing makes the log failed: it raises
  `StorageFailed` and refuses every later call. Nothing is retried: after a failed fsync the
  kernel may have dropped the dirty pages, so a retry could report success for lost data.
- Recovery (`load`). Scan every segment in order; sequence numbers must run on from one segment
  to the next and from the snapshot's `first_seq_kept`. An incomplete or checksum-failing frame
  that is the last thing in the last segment is a torn tail: the segment is truncated to its
  valid prefix and fsynced. Any other bad frame, including a torn end of a segment that is not
  the last, raises `CorruptLog` with the file and byte offset: a record that was followed by
  valid data is never dropped silently.
- Compaction. `install_snapshot` syncs, writes the snapshot, then deletes the longest prefix of
  segments whose every record the snapshot covers (never the segment being appended to; it is
  rolled first when the snapshot covers it whole). The snapshot records where the kept log
  starts, so a crash between the snapshot and the deletions is finished by the next `load`.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pyxos.core.io import DurableRecord as Record
from pyxos.core.protocol import Extent, ProtocolSpec
from pyxos.core.protocols import protocol_spec
from pyxos.storage import failpoints, fsio
from pyxos.storage.errors import (
    CorruptLog,
    CorruptSnapshot,
    StorageError,
    StorageFailed,
    StoreStateError,
)
from pyxos.storage.logstore import LoadedLog, Snapshot
from pyxos.storage.snapshot import read_snapshot, snapshot_paths, temp_paths, write_snapshot
from pyxos.wire.log_frames import (
    DEFAULT_CODEC,
    Clean,
    Corrupt,
    Frame,
    FrameScanner,
    RecordCodec,
    TornTail,
)

log = logging.getLogger(__name__)

SEGMENT_PREFIX = "wal-"
SEGMENT_SUFFIX = ".log"
LOCK_NAME = "LOCK"
FORMAT_NAME = "FORMAT"
WAL_FORMAT = "pyxos-wal 1"
LEGACY_PROTOCOL = "multipaxos/1"
"""The protocol of a log directory written before `FORMAT` existed."""
SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024
BUFFER_BYTES_MAX = 1024 * 1024
"""Appended frames kept in memory before they are written to the OS (still unsynced)."""
READ_CHUNK_BYTES = 4 * 1024 * 1024


def segment_name(first_seq: int) -> str:
    return f"{SEGMENT_PREFIX}{first_seq:016x}{SEGMENT_SUFFIX}"


def segment_paths(directory: Path) -> list[tuple[int, Path]]:
    """`(first_seq, path)` of every segment file in `directory`, in log order."""
    found = []
    for path in directory.iterdir():
        name = path.name
        if name.startswith(SEGMENT_PREFIX) and name.endswith(SEGMENT_SUFFIX):
            digits = name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]
            with contextlib.suppress(ValueError):
                found.append((int(digits, 16), path))
    return sorted(found)


@dataclass(slots=True, kw_only=True)
class SegmentInfo:
    """Bookkeeping of one live segment: what is needed to decide if a snapshot covers it."""

    path: Path
    first_seq: int
    records: int = 0
    size_bytes: int = 0
    extent: Extent | None = None

    def note(
        self,
        records: Sequence[Record],
        size_bytes: int,
        extent: Callable[[Iterable[Record]], Extent],
    ) -> None:
        """Count `records` of `size_bytes` in all (its protocol's `extent` tells what they are
        about). Runs over every record at every restart: one call per segment."""
        self.records += len(records)
        self.size_bytes += size_bytes
        more = extent(records)
        self.extent = more if self.extent is None else self.extent.merge(more)

    def covered_by(self, snapshot: Snapshot) -> bool:
        return self.extent is None or self.extent.covered_by(snapshot)


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentScan:
    path: Path
    first_seq: int
    size_bytes: int
    frames: tuple[Frame, ...]
    end: Clean | TornTail | Corrupt


def read_format(path: Path) -> str:
    """The protocol (`name/version`) a `FORMAT` file names. Raises `StorageError` for a file
    that is not one, `OSError` if it cannot be read."""
    lines = path.read_text(errors="replace").splitlines()
    if len(lines) >= 2 and lines[0] == WAL_FORMAT and lines[1].startswith("protocol "):
        return lines[1].removeprefix("protocol ").strip()
    raise StorageError(f"{path} is not a log format file this version understands: {lines[:2]}")


def directory_codec(directory: Path) -> RecordCodec:
    """The record codec of the protocol a log directory's `FORMAT` names (Multi-Paxos for a
    directory without one). Raises `StorageError` for a format or protocol this build does not
    know, `OSError` if the file cannot be read."""
    path = Path(directory) / FORMAT_NAME
    if not path.exists():
        return DEFAULT_CODEC
    name, _, version = read_format(path).partition("/")
    try:
        spec = protocol_spec(name)
    except ValueError as exc:
        raise StorageError(f"{path}: {exc}") from None
    if str(spec.version) != version:
        raise StorageError(
            f"{path}: the log holds {name} records of version {version}; this build reads "
            f"version {spec.version}"
        )
    return RecordCodec(spec)


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryScan:
    """Everything in a log directory, read and checked without changing anything.

    `segments` are the live segments scanned (up to and including the first damaged one);
    `error` is the damage that stops a `load`, if any; `torn` a repairable torn tail.
    """

    directory: Path
    snapshot: Snapshot | None
    snapshot_path: Path | None
    first_seq_kept: int
    segments: tuple[SegmentScan, ...]
    torn: TornTail | None
    error: CorruptLog | CorruptSnapshot | None
    obsolete_segments: tuple[Path, ...] = ()
    obsolete_snapshots: tuple[Path, ...] = ()
    temp_files: tuple[Path, ...] = ()
    next_seq: int = 0
    protocol: ProtocolSpec = DEFAULT_CODEC.spec
    """The protocol whose records the scan decoded."""


def scan_segment(
    path: Path, codec: RecordCodec = DEFAULT_CODEC
) -> tuple[list[Frame], Clean | TornTail | Corrupt, int]:
    """Read one segment: its valid frames, how it ends, and its size in bytes."""
    scanner = FrameScanner(codec=codec)
    frames: list[Frame] = []
    size = 0
    with open(path, "rb", buffering=0) as handle:
        while chunk := handle.read(READ_CHUNK_BYTES):
            size += len(chunk)
            scanner.feed(chunk)
            frames.extend(scanner.frames())
    return frames, scanner.finish(), size


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # Decoding allocates one object graph per record and keeps them all; the cyclic collector
    # would rescan that growing heap again and again (it halves the restart time of a large log).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def scan_directory(directory: Path, codec: RecordCodec = DEFAULT_CODEC) -> DirectoryScan:
    """Read and check a log directory; change nothing. Raises `OSError` if it is unreadable."""
    with _gc_paused():
        return _scan_directory(Path(directory), codec)


def _scan_directory(directory: Path, codec: RecordCodec) -> DirectoryScan:
    snapshots = snapshot_paths(directory)
    snapshot: Snapshot | None = None
    snapshot_path = snapshots[-1] if snapshots else None
    first_seq_kept = 0
    snapshot_error: CorruptSnapshot | None = None
    if snapshot_path is not None:
        try:
            snapshot, first_seq_kept = read_snapshot(snapshot_path)
        except CorruptSnapshot as exc:
            snapshot_error = exc
    all_segments = segment_paths(directory)
    obsolete = tuple(p for seq, p in all_segments if seq < first_seq_kept)
    live = [(seq, p) for seq, p in all_segments if seq >= first_seq_kept]
    scans: list[SegmentScan] = []
    torn: TornTail | None = None
    error: CorruptLog | None = None
    expected = first_seq_kept
    if snapshot_error is not None and live:
        expected = live[0][0]  # where the log should start is unknown: still list what is there
    if snapshot is not None and not live:
        error = CorruptLog(
            str(directory), 0, f"no log segment; the snapshot expects one at seq {expected}"
        )
    for index, (seq, path) in enumerate(live):
        if error is not None:
            break
        if seq != expected:
            what = "a segment is missing" if seq > expected else "segments overlap"
            error = CorruptLog(str(path), 0, f"{what}: expected the log to go on at seq {expected}")
            break
        frames, end, size = scan_segment(path, codec)
        scans.append(
            SegmentScan(path=path, first_seq=seq, size_bytes=size, frames=tuple(frames), end=end)
        )
        expected = seq + len(frames)
        match end:
            case Clean():
                pass
            case TornTail(offset=offset, reason=reason):
                if index == len(live) - 1:
                    torn = end
                else:
                    error = CorruptLog(
                        str(path), offset, f"{reason} (a segment that is not the last)"
                    )
            case Corrupt(offset=offset, reason=reason):
                error = CorruptLog(str(path), offset, reason)
    return DirectoryScan(
        directory=directory,
        snapshot=snapshot,
        snapshot_path=snapshot_path,
        first_seq_kept=first_seq_kept,
        segments=tuple(scans),
        torn=torn,
        error=snapshot_error or error,
        obsolete_segments=obsolete,
        obsolete_snapshots=tuple(snapshots[:-1]),
        temp_files=tuple(temp_paths(directory)),
        next_seq=expected,
        protocol=codec.spec,
    )


class _State(Enum):
    NEW = "not loaded"
    OPEN = "open"
    FAILED = "failed"
    CLOSED = "closed"


class WriteAheadLog:
    """The `LogStore` on local disk. Not thread-safe: one thread (e.g. the group-commit
    writer) calls it. One instance is one open: `load` once, ..., `close`."""

    def __init__(
        self,
        directory: Path | str,
        *,
        segment_bytes_max: int = SEGMENT_BYTES_DEFAULT,
        protocol: ProtocolSpec | None = None,
    ) -> None:
        """A log in `directory` holding the records of `protocol` (Multi-Paxos if not given)."""
        if segment_bytes_max < 1:
            raise ValueError(f"segment_bytes_max must be positive, not {segment_bytes_max}")
        self._codec = DEFAULT_CODEC if protocol is None else RecordCodec(protocol)
        self._extent = self._codec.spec.extent
        self._dir = Path(directory)
        self._segment_bytes_max = segment_bytes_max
        self._state = _State.NEW
        self._lock_fd = -1
        self._fd = -1  # the last segment, open for appending
        self._segments: list[SegmentInfo] = []
        self._snapshot: Snapshot | None = None
        self._pending: list[tuple[bytes, Record]] = []
        self._pending_bytes = 0
        self._unsynced = False  # bytes were written to the last segment since its last sync
        self.syncs = 0

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    # ---- LogStore -----------------------------------------------------------------------
    def load(self) -> LoadedLog:
        """Open the directory (created if missing), repair a torn tail, return what survived.

        Raises `CorruptLog` / `CorruptSnapshot` on damage, `StorageError` if another process
        holds the directory, `StorageFailed` if the repair cannot be made durable.
        """
        if self._state is not _State.NEW:
            raise StoreStateError(f"load() on a log that is {self._state.value}")
        try:
            fsio.make_directory(self._dir)
            self._lock()
            self._check_format()
            scan = scan_directory(self._dir, self._codec)
        except StorageError:
            self._state = _State.CLOSED
            self._release()
            raise
        except OSError as exc:
            self._state = _State.FAILED
            self._release()
            raise StorageFailed(f"cannot open the log in {self._dir}: {exc}") from exc
        if scan.error is not None:
            self._state = _State.CLOSED
            self._release()
            raise scan.error
        try:
            repaired = self._repair(scan)
        except OSError as exc:
            self._state = _State.FAILED
            self._release()
            raise StorageFailed(f"cannot repair the log in {self._dir}: {exc}") from exc
        self._snapshot = scan.snapshot
        self._state = _State.OPEN
        records = tuple(frame.record for seg in scan.segments for frame in seg.frames)
        log.info(
            "wal %s: loaded %d records in %d segments, snapshot slot %s, repaired %d bytes",
            self._dir,
            len(records),
            len(self._segments),
            None if scan.snapshot is None else scan.snapshot.slot,
            repaired,
        )
        return LoadedLog(records=records, snapshot=scan.snapshot, repaired_bytes=repaired)

    def append(self, records: Sequence[Record]) -> None:
        """Buffer `records` (encoded now: a bad record raises `TypeError`/`ValueError` and
        nothing is appended). Raises `StorageFailed` if the log failed."""
        self._require_open("append")
        frames = [self._codec.frame(r) for r in records]
        self._pending.extend(zip(frames, records, strict=True))
        self._pending_bytes += sum(len(f) for f in frames)
        if self._pending_bytes >= BUFFER_BYTES_MAX:
            self._guard(self._flush)

    def sync(self) -> None:
        self._require_open("sync")
        self._guard(self._sync)

    def install_snapshot(self, snapshot: Snapshot) -> None:
        self._require_open("install_snapshot")
        if self._snapshot is not None and snapshot.slot < self._snapshot.slot:
            raise ValueError(f"snapshot at {snapshot.slot} is older than {self._snapshot.slot}")
        self._guard(lambda: self._install(snapshot))
        self._snapshot = snapshot

    def close(self) -> None:
        """Release the files. Records appended since the last `sync` may be lost."""
        if self._state in (_State.OPEN, _State.FAILED):
            self._state = _State.CLOSED
            self._pending.clear()
            self._release()

    # ---- internals ----------------------------------------------------------------------
    def _require_open(self, call: str) -> None:
        if self._state is _State.FAILED:
            raise StorageFailed(f"{call}() on a failed log in {self._dir} (fail-stop)")
        if self._state is not _State.OPEN:
            raise StoreStateError(f"{call}() on a log that is {self._state.value}")

    def _guard(self, operation: Callable[[], None]) -> None:
        try:
            operation()
        except OSError as exc:
            self._state = _State.FAILED
            self._release()
            log.critical("wal %s: storage failed, stopping: %s", self._dir, exc)
            raise StorageFailed(f"log in {self._dir}: {exc}") from exc

    def _lock(self) -> None:
        self._lock_fd = os.open(self._dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._release()
            raise StorageError(f"{self._dir} is in use by another process") from None

    def _check_format(self) -> None:
        """Write `FORMAT` into a new directory; refuse one that holds another protocol's log.
        Raises `StorageError` naming both protocols, `OSError` if the file cannot be written."""
        path = self._dir / FORMAT_NAME
        ours = self._codec.spec.wire_name
        wanted = f"{WAL_FORMAT}\nprotocol {ours}\n"
        if path.exists():
            found = read_format(path)
            if found != ours:
                raise StorageError(
                    f"{self._dir} holds a log of protocol {found}; this node runs {ours}. "
                    f"Start it with the protocol the log was written with, or move the "
                    f"directory away to start this node empty"
                )
            return
        if segment_paths(self._dir) and ours != LEGACY_PROTOCOL:
            raise StorageError(
                f"{self._dir} holds a log of protocol {LEGACY_PROTOCOL} (written before "
                f"{FORMAT_NAME} existed); this node runs {ours}"
            )
        temp = path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            fsio.write_all(fd, wanted.encode())
            fsio.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        fsio.fsync_directory(self._dir)

    def _release(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._lock_fd = -1

    def _repair(self, scan: DirectoryScan) -> int:
        """Finish what a crash interrupted; open the last segment. Returns bytes truncated."""
        removed = (*scan.temp_files, *scan.obsolete_snapshots, *scan.obsolete_segments)
        for path in removed:
            path.unlink()
        if removed:
            fsio.fsync_directory(self._dir)
        repaired = 0
        for seg in scan.segments:
            info = SegmentInfo(path=seg.path, first_seq=seg.first_seq)
            info.note(
                [frame.record for frame in seg.frames],
                sum(frame.size for frame in seg.frames),
                self._extent,
            )
            self._segments.append(info)
        if scan.torn is not None:
            last = scan.segments[-1].path
            repaired = scan.torn.end - scan.torn.offset
            log.warning(
                "wal %s: truncating a torn tail of %d bytes at %s:%d (%s)",
                self._dir,
                repaired,
                last.name,
                scan.torn.offset,
                scan.torn.reason,
            )
            fd = os.open(last, os.O_WRONLY)
            try:
                os.ftruncate(fd, scan.torn.offset)
                fsio.fsync(fd)
            finally:
                os.close(fd)
        if self._segments:
            self._fd = os.open(self._segments[-1].path, os.O_WRONLY | os.O_APPEND)
        else:
            self._create_segment(scan.first_seq_kept)
        return repaired

    def _create_segment(self, first_seq: int) -> None:
        path = self._dir / segment_name(first_seq)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self._fd = fd
        fsio.fsync(fd)
        fsio.fsync_directory(self._dir)
        self._segments.append(SegmentInfo(path=path, first_seq=first_seq))
        log.info("wal %s: new segment %s", self._dir, path.name)

    def _roll(self) -> None:
        # The full segment is made durable before the next exists, so that a torn tail can
        # only ever be in the last segment.
        if self._unsynced:
            fsio.fdatasync(self._fd)
            self._unsynced = False
        os.close(self._fd)
        self._fd = -1
        last = self._segments[-1]
        self._create_segment(last.first_seq + last.records)

    def _flush(self) -> None:
        """Write the buffered frames to the OS, one write per segment touched."""
        pending, limit = self._pending, self._segment_bytes_max
        i = 0
        while i < len(pending):
            seg = self._segments[-1]
            room, j, size = limit - seg.size_bytes, i, 0
            # A frame larger than a whole segment gets a segment of its own.
            while j < len(pending) and (
                size + len(pending[j][0]) <= room or (j == i and seg.size_bytes == 0)
            ):
                size += len(pending[j][0])
                j += 1
            if j == i:
                self._roll()
                continue
            self._write(b"".join(frame for frame, _ in pending[i:j]))
            seg.note([record for _, record in pending[i:j]], size, self._extent)
            i = j
        pending.clear()
        self._pending_bytes = 0

    def _write(self, data: bytes) -> None:
        self._unsynced = True
        if failpoints.should_fire(failpoints.TORN_WRITE):
            # A crash in the middle of this write: half the bytes reach the file.
            fsio.write_all(self._fd, data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        fsio.write_all(self._fd, data)

    def _sync(self) -> None:
        self._flush()
        if self._unsynced:
            fsio.fdatasync(self._fd)
            self._unsynced = False
            self.syncs += 1

    def _install(self, snapshot: Snapshot) -> None:
        self._sync()
        last = self._segments[-1]
        if last.records and last.covered_by(snapshot):
            self._roll()
        keep = 0
        while keep < len(self._segments) - 1 and self._segments[keep].covered_by(snapshot):
            keep += 1
        doomed, self._segments = self._segments[:keep], self._segments[keep:]
        path = write_snapshot(self._dir, snapshot, first_seq_kept=self._segments[0].first_seq)
        for old in snapshot_paths(self._dir):
            if old != path:
                old.unlink()
        for seg in doomed:
            seg.path.unlink()
        fsio.fsync_directory(self._dir)
        log.info(
            "wal %s: snapshot at slot %d installed, %d segments deleted",
            self._dir,
            snapshot.slot,
            len(doomed),
        )
