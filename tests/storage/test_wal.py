"""The write-ahead log on real files: segments, recovery, damage, failure."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from random import Random

import pytest

from conftest import MakeRecords
from pyxos.core.commands import Command
from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.records import DecidedValue, Promised, Record
from pyxos.storage import failpoints
from pyxos.storage.errors import CorruptLog, StorageError, StorageFailed, StoreStateError
from pyxos.storage.logstore import LoadedLog
from pyxos.storage.wal import (
    SEGMENT_SUFFIX,
    WriteAheadLog,
    directory_codec,
    scan_segment,
    segment_name,
)
from pyxos.wire.log_frames import encode_frame


def _open(directory: Path, segment_bytes_max: int = 64 * 1024) -> tuple[WriteAheadLog, LoadedLog]:
    wal = WriteAheadLog(directory, segment_bytes_max=segment_bytes_max)
    return wal, wal.load()


def _write(directory: Path, records: list[Record], segment_bytes_max: int = 64 * 1024) -> None:
    wal, _ = _open(directory, segment_bytes_max)
    wal.append(records)
    wal.sync()
    wal.close()


def _segments(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.endswith(SEGMENT_SUFFIX))


def _flip(path: Path, byte: int, bit: int) -> None:
    data = bytearray(path.read_bytes())
    data[byte] ^= 1 << bit
    path.write_bytes(bytes(data))


def test_a_new_directory_gets_one_empty_segment(tmp_path: Path) -> None:
    wal, loaded = _open(tmp_path / "a" / "wal")
    assert loaded == LoadedLog(records=(), snapshot=None)
    assert [p.name for p in _segments(tmp_path / "a" / "wal")] == [segment_name(0)]
    wal.close()


def test_records_survive_a_reopen_in_order(tmp_path: Path, make_records: MakeRecords) -> None:
    records = make_records(Random(1), 300)
    _write(tmp_path, records[:100])
    wal, loaded = _open(tmp_path)
    assert list(loaded.records) == records[:100]
    wal.append(records[100:])
    wal.sync()
    wal.close()
    wal, loaded = _open(tmp_path)
    assert list(loaded.records) == records
    wal.close()


def test_append_is_buffered_until_sync(tmp_path: Path) -> None:
    wal, _ = _open(tmp_path)
    wal.append([Promised(ballot=Ballot(1, 1))])
    assert _segments(tmp_path)[0].stat().st_size == 0
    wal.sync()
    assert _segments(tmp_path)[0].stat().st_size == len(encode_frame(Promised(ballot=Ballot(1, 1))))
    wal.close()


def test_segments_roll_and_are_named_by_first_seq(
    tmp_path: Path, make_records: MakeRecords
) -> None:
    records = make_records(Random(2), 400)
    _write(tmp_path, records, segment_bytes_max=1024)
    segments = _segments(tmp_path)
    assert len(segments) > 5
    seq = 0
    for path in segments:
        frames, _, size = scan_segment(path)
        assert path.name == segment_name(seq)
        assert size <= 1024
        seq += len(frames)
    assert seq == len(records)
    wal, loaded = _open(tmp_path, segment_bytes_max=1024)
    assert list(loaded.records) == records
    wal.close()


def test_a_record_larger_than_a_segment_gets_a_segment_of_its_own(tmp_path: Path) -> None:
    big = DecidedValue(slot=1, batch=(Command(client_id=1, seq=1, op=bytes(5000)),))
    small = Promised(ballot=Ballot(1, 1))
    _write(tmp_path, [small, big, small], segment_bytes_max=1024)
    assert [len(scan_segment(p)[0]) for p in _segments(tmp_path)] == [1, 1, 1]
    wal, loaded = _open(tmp_path, segment_bytes_max=1024)
    assert list(loaded.records) == [small, big, small]
    wal.close()


def _build_multi_segment_log(
    directory: Path, records: list[Record]
) -> tuple[list[Path], list[int]]:
    _write(directory, records, segment_bytes_max=2048)
    segments = _segments(directory)
    frames, _, size = scan_segment(segments[-1])
    return segments, [f.offset for f in frames] + [size]


def test_truncation_at_every_offset_of_the_last_three_records_through_files(
    tmp_path: Path, make_records: MakeRecords
) -> None:
    records = make_records(Random(3), 120)
    segments, starts = _build_multi_segment_log(tmp_path / "origin", records)
    assert len(segments) > 1 and len(starts) > 4
    in_last = len(starts) - 1
    before = len(records) - in_last
    data = segments[-1].read_bytes()
    for cut in range(starts[-4], len(data) + 1):
        directory = tmp_path / f"cut-{cut}"
        directory.mkdir()
        for path in segments[:-1]:
            shutil.copyfile(path, directory / path.name)
        (directory / segments[-1].name).write_bytes(data[:cut])
        kept = max(i for i, start in enumerate(starts) if start <= cut)
        wal, loaded = _open(directory, 2048)
        assert list(loaded.records) == records[: before + kept], cut
        assert loaded.repaired_bytes == cut - starts[kept]
        wal.close()
        # The repair is durable and idempotent: the file now ends at the valid prefix.
        assert (directory / segments[-1].name).stat().st_size == starts[kept]
        wal, again = _open(directory, 2048)
        assert again.records == loaded.records and again.repaired_bytes == 0
        wal.close()
        shutil.rmtree(directory)


def test_bit_flips_through_files(tmp_path: Path, make_records: MakeRecords) -> None:
    rng = Random(4)
    records = make_records(rng, 150)
    segments, _ = _build_multi_segment_log(tmp_path / "origin", records)
    sizes = [p.stat().st_size for p in segments]
    for trial in range(200):
        directory = tmp_path / f"flip-{trial}"
        shutil.copytree(tmp_path / "origin", directory)
        which = rng.randrange(len(segments))
        byte = rng.randrange(sizes[which])
        _flip(directory / segments[which].name, byte, rng.randrange(8))
        wal = WriteAheadLog(directory, segment_bytes_max=2048)
        try:
            loaded = wal.load()
        except CorruptLog as exc:
            assert exc.path == str(directory / segments[which].name)
            assert exc.offset <= byte
            assert str(exc.offset) in str(exc) and segments[which].name in str(exc)
        else:
            # Only damage to the very last record may be taken for a torn tail.
            last_start = scan_segment(segments[-1])[0][-1].offset
            assert which == len(segments) - 1 and byte >= last_start, (which, byte)
            assert list(loaded.records) == records[:-1]
            wal.close()
        shutil.rmtree(directory)


def test_a_torn_end_of_a_segment_that_is_not_the_last_is_corruption(
    tmp_path: Path, make_records: MakeRecords
) -> None:
    _write(tmp_path, make_records(Random(5), 100), segment_bytes_max=1024)
    first = _segments(tmp_path)[0]
    size = first.stat().st_size
    os.truncate(first, size - 3)
    with pytest.raises(CorruptLog) as info:
        WriteAheadLog(tmp_path, segment_bytes_max=1024).load()
    assert info.value.path == str(first)
    assert "not the last" in info.value.reason


def test_a_missing_segment_is_corruption(tmp_path: Path, make_records: MakeRecords) -> None:
    _write(tmp_path, make_records(Random(6), 100), segment_bytes_max=1024)
    segments = _segments(tmp_path)
    segments[1].unlink()
    with pytest.raises(CorruptLog) as info:
        WriteAheadLog(tmp_path).load()
    assert info.value.path == str(segments[2]) and "missing" in info.value.reason


def test_a_log_that_does_not_start_at_zero_is_corruption(
    tmp_path: Path, make_records: MakeRecords
) -> None:
    _write(tmp_path, make_records(Random(7), 100), segment_bytes_max=1024)
    _segments(tmp_path)[0].unlink()
    with pytest.raises(CorruptLog):
        WriteAheadLog(tmp_path).load()


def test_a_zero_filled_tail_is_repaired(tmp_path: Path, make_records: MakeRecords) -> None:
    records = make_records(Random(8), 50)
    _write(tmp_path, records)
    segment = _segments(tmp_path)[0]
    size = segment.stat().st_size
    with open(segment, "ab") as handle:
        handle.write(bytes(8192))  # what some file systems show after a crash
    wal, loaded = _open(tmp_path)
    assert list(loaded.records) == records and loaded.repaired_bytes == 8192
    assert segment.stat().st_size == size
    wal.close()


def test_a_directory_in_use_is_refused(tmp_path: Path) -> None:
    wal, _ = _open(tmp_path)
    with pytest.raises(StorageError, match="in use"):
        WriteAheadLog(tmp_path).load()
    wal.close()
    other, _ = _open(tmp_path)
    other.close()


def test_calls_out_of_order_are_refused_and_change_nothing(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    with pytest.raises(StoreStateError):
        wal.append([Promised(ballot=Ballot(1, 1))])
    wal.load()
    with pytest.raises(StoreStateError):
        wal.load()
    with pytest.raises(TypeError):
        wal.append([Promised(ballot=Ballot(1, 1)), "not a record"])  # type: ignore[list-item]
    wal.sync()
    wal.close()
    with pytest.raises(StoreStateError):
        wal.sync()
    _, loaded = _open(tmp_path)
    assert loaded.records == ()


def test_a_failed_fsync_is_fatal_and_never_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wal, _ = _open(tmp_path)
    wal.append([Promised(ballot=Ballot(1, 1))])
    wal.sync()
    calls = []

    def broken(fd: int) -> None:
        calls.append(fd)
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", broken)
    wal.append([Promised(ballot=Ballot(2, 1))])
    with pytest.raises(StorageFailed):
        wal.sync()
    assert len(calls) == 1
    for call in (wal.sync, lambda: wal.append([Promised(ballot=Ballot(3, 1))])):
        with pytest.raises(StorageFailed):
            call()
    assert len(calls) == 1  # refused before reaching the disk again
    wal.close()
    monkeypatch.undo()
    wal, loaded = _open(tmp_path)
    assert loaded.records[0] == Promised(ballot=Ballot(1, 1))
    wal.close()


def test_the_fsync_error_failpoint_fails_the_log(tmp_path: Path) -> None:
    wal, _ = _open(tmp_path)
    failpoints.enable(failpoints.FSYNC_ERROR, after=1)
    wal.append([Promised(ballot=Ballot(1, 1))])
    wal.sync()
    wal.append([Promised(ballot=Ballot(2, 1))])
    with pytest.raises(StorageFailed, match="fsync_error"):
        wal.sync()
    with pytest.raises(StorageFailed):
        wal.append([Promised(ballot=Ballot(3, 1))])
    wal.close()


def test_failpoint_spec_parsing() -> None:
    assert failpoints.parse("fsync_error@5, torn_write") == {"fsync_error": 5, "torn_write": 0}
    with pytest.raises(ValueError):
        failpoints.parse("fsync_error@x")


# ---- which protocol's records a log holds ----------------------------------------------------
def test_a_new_log_says_which_protocol_wrote_it(tmp_path: Path) -> None:
    _write(tmp_path, [Promised(ballot=Ballot(1, 1))])
    assert (tmp_path / "FORMAT").read_text() == "pyxos-wal 1\nprotocol multipaxos/1\n"
    assert directory_codec(tmp_path).spec.name == "multipaxos"


def test_a_log_of_another_protocol_is_refused_and_left_alone(tmp_path: Path) -> None:
    _write(tmp_path, [Promised(ballot=Ballot(1, 1))])
    (tmp_path / "FORMAT").write_text("pyxos-wal 1\nprotocol wpaxos/1\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StorageError, match="holds a log of protocol wpaxos/1; this node runs"):
        _open(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert directory_codec(tmp_path).spec.name == "wpaxos"
    (tmp_path / "FORMAT").write_text("pyxos-wal 1\nprotocol epoch/3\n")
    with pytest.raises(StorageError, match="unknown protocol 'epoch'"):
        directory_codec(tmp_path)


def test_a_log_from_before_the_format_file_is_read_as_multipaxos(
    tmp_path: Path, make_records: MakeRecords
) -> None:
    records = make_records(Random(3), 5)
    _write(tmp_path, records)
    (tmp_path / "FORMAT").unlink()
    _, loaded = _open(tmp_path)
    assert list(loaded.records) == records
    assert (tmp_path / "FORMAT").exists()
