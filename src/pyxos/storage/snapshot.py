"""Snapshot files: `snap-<slot:016x>.snap` in the log directory.

A snapshot is written to `snap-<slot>.tmp`, fsynced, renamed to its final name, and the directory
is fsynced: a crash leaves either the old snapshot or the new one, plus perhaps a `.tmp` file
that `load` deletes. The file is the msgpack encoding of `SnapshotFile`: a format `version`, the
CRC32C of `body`, and `body`, the msgpack encoding of `SnapshotBody`. A file that does not decode,
has an unknown version or a bad checksum is `CorruptSnapshot`: never silently skipped, because
the log below it may already be deleted.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgspec
from crc32c import crc32c

from pyxos.core.ids import Ballot, Slot
from pyxos.core.snapshot import Snapshot
from pyxos.storage import fsio
from pyxos.storage.errors import CorruptSnapshot

SNAPSHOT_VERSION = 1
SNAPSHOT_PREFIX = "snap-"
SNAPSHOT_SUFFIX = ".snap"
TEMP_SUFFIX = ".tmp"


class SnapshotBody(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    slot: Slot
    promised: Ballot
    state: bytes
    first_seq_kept: int
    """Sequence number of the first log record kept when this snapshot was installed: the log
    must start there (records before it were deleted, or are to be deleted, with the log)."""
    time_ms: int = 0
    """The log time of the state (added later: a file without it decodes with 0)."""


class SnapshotFile(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    crc: int
    body: bytes


_encoder = msgspec.msgpack.Encoder()
_file_decoder = msgspec.msgpack.Decoder(SnapshotFile)
_body_decoder = msgspec.msgpack.Decoder(SnapshotBody)


def snapshot_name(slot: Slot) -> str:
    return f"{SNAPSHOT_PREFIX}{slot:016x}{SNAPSHOT_SUFFIX}"


def encode_snapshot(snapshot: Snapshot, *, first_seq_kept: int) -> bytes:
    body = _encoder.encode(
        SnapshotBody(
            slot=snapshot.slot,
            promised=snapshot.promised,
            state=snapshot.state,
            first_seq_kept=first_seq_kept,
            time_ms=snapshot.time_ms,
        )
    )
    return _encoder.encode(SnapshotFile(version=SNAPSHOT_VERSION, crc=crc32c(body), body=body))


def decode_snapshot(data: bytes, *, path: str) -> tuple[Snapshot, int]:
    """Decode a snapshot file's bytes into `(snapshot, first_seq_kept)`.

    Raises `CorruptSnapshot` naming `path` on any damage.
    """
    try:
        envelope = _file_decoder.decode(data)
    except ValueError as exc:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
        raise CorruptSnapshot(path, f"does not decode ({len(data)} bytes): {exc}") from None
    if envelope.version != SNAPSHOT_VERSION:
        raise CorruptSnapshot(path, f"unknown snapshot version {envelope.version}")
    if crc32c(envelope.body) != envelope.crc:
        raise CorruptSnapshot(path, "checksum mismatch")
    try:
        body = _body_decoder.decode(envelope.body)
    except ValueError as exc:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
        raise CorruptSnapshot(path, f"checksum ok but the body does not decode: {exc}") from None
    snapshot = Snapshot(
        slot=body.slot, promised=body.promised, state=body.state, time_ms=body.time_ms
    )
    return snapshot, body.first_seq_kept


def write_snapshot(directory: Path, snapshot: Snapshot, *, first_seq_kept: int) -> Path:
    """Durably write `snapshot` into `directory`; returns its path. Raises `OSError`."""
    final = directory / snapshot_name(snapshot.slot)
    temp = final.with_suffix(TEMP_SUFFIX)
    data = encode_snapshot(snapshot, first_seq_kept=first_seq_kept)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        fsio.write_all(fd, data)
        fsio.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, final)
    fsio.fsync_directory(directory)
    return final


def snapshot_paths(directory: Path) -> list[Path]:
    """Snapshot files (not temp files) in `directory`, oldest (lowest slot) first."""
    found = []
    for path in directory.iterdir():
        name = path.name
        if name.startswith(SNAPSHOT_PREFIX) and name.endswith(SNAPSHOT_SUFFIX):
            digits = name[len(SNAPSHOT_PREFIX) : -len(SNAPSHOT_SUFFIX)]
            with contextlib.suppress(ValueError):
                found.append((int(digits, 16), path))
    return [path for _, path in sorted(found)]


def temp_paths(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.iterdir()
        if p.name.startswith(SNAPSHOT_PREFIX) and p.name.endswith(TEMP_SUFFIX)
    )


def read_snapshot(path: Path) -> tuple[Snapshot, int]:
    """Read and check one snapshot file. Raises `CorruptSnapshot` or `OSError`."""
    return decode_snapshot(path.read_bytes(), path=str(path))
