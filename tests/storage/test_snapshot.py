"""Snapshot files: durable write, compaction of the log below, damage and leftovers."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import pytest

from pyxos.core.commands import Command
from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.records import AcceptedValue, Promised, Record
from pyxos.storage.errors import CorruptLog, CorruptSnapshot
from pyxos.storage.logstore import Snapshot
from pyxos.storage.snapshot import (
    SNAPSHOT_VERSION,
    SnapshotFile,
    decode_snapshot,
    encode_snapshot,
    snapshot_name,
)
from pyxos.storage.wal import SEGMENT_SUFFIX, WriteAheadLog

SEGMENT_BYTES = 512
BALLOT = Ballot(2, 1)


def _accepted(slot: int) -> AcceptedValue:
    return AcceptedValue(
        slot=slot, ballot=BALLOT, batch=(Command(client_id=1, seq=slot, op=b"x" * 20),)
    )


def _snapshot(slot: int, promised: Ballot = BALLOT) -> Snapshot:
    return Snapshot(slot=slot, promised=promised, state=b"m" * slot + b"s%d" % slot)


def _segments(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.endswith(SEGMENT_SUFFIX))


def _wal(directory: Path) -> WriteAheadLog:
    return WriteAheadLog(directory, segment_bytes_max=SEGMENT_BYTES)


def _log_with_snapshot(directory: Path, *, upto: int, snapshot_at: int) -> list[Record]:
    records: list[Record] = [Promised(ballot=BALLOT), *(_accepted(s) for s in range(1, upto + 1))]
    wal = _wal(directory)
    wal.load()
    wal.append(records)
    wal.install_snapshot(_snapshot(snapshot_at))
    wal.close()
    return records


def test_encode_decode_round_trip() -> None:
    snap = _snapshot(7)
    assert decode_snapshot(encode_snapshot(snap, first_seq_kept=3), path="x") == (snap, 3)


def test_a_snapshot_survives_reopen_and_the_log_below_it_is_deleted(tmp_path: Path) -> None:
    wal = _wal(tmp_path)
    wal.load()
    wal.append([Promised(ballot=BALLOT), *(_accepted(s) for s in range(1, 101))])
    wal.sync()
    before = len(_segments(tmp_path))
    wal.install_snapshot(_snapshot(80))
    after = _segments(tmp_path)
    assert 0 < len(after) < before
    wal.append([_accepted(101)])
    wal.sync()
    wal.close()
    assert [p.name for p in tmp_path.glob("snap-*")] == [snapshot_name(80)]
    wal = _wal(tmp_path)
    loaded = wal.load()
    assert loaded.snapshot == _snapshot(80)
    slots = [r.slot for r in loaded.records if isinstance(r, AcceptedValue)]
    assert slots == list(range(slots[0], 102)) and slots[0] <= 81
    wal.close()


def test_a_snapshot_covering_everything_rolls_and_deletes_the_whole_log(tmp_path: Path) -> None:
    _log_with_snapshot(tmp_path, upto=100, snapshot_at=100)
    assert len(_segments(tmp_path)) == 1
    wal = _wal(tmp_path)
    loaded = wal.load()
    assert loaded.records == () and loaded.snapshot == _snapshot(100)
    wal.append([_accepted(101)])
    wal.sync()
    wal.close()
    wal = _wal(tmp_path)
    assert list(wal.load().records) == [_accepted(101)]
    wal.close()


def test_a_higher_promise_in_the_log_is_not_deleted(tmp_path: Path) -> None:
    wal = _wal(tmp_path)
    wal.load()
    wal.append([Promised(ballot=Ballot(9, 1)), *(_accepted(s) for s in range(1, 101))])
    wal.install_snapshot(_snapshot(100, promised=BALLOT))
    wal.close()
    wal = _wal(tmp_path)
    assert wal.load().records[0] == Promised(ballot=Ballot(9, 1))
    wal.close()


def test_a_newer_snapshot_replaces_the_older(tmp_path: Path) -> None:
    _log_with_snapshot(tmp_path, upto=50, snapshot_at=20)
    wal = _wal(tmp_path)
    wal.load()
    wal.install_snapshot(_snapshot(40))
    with pytest.raises(ValueError):
        wal.install_snapshot(_snapshot(30))
    wal.close()
    assert [p.name for p in tmp_path.glob("snap-*")] == [snapshot_name(40)]


def test_a_torn_temp_snapshot_is_ignored_and_cleaned(tmp_path: Path) -> None:
    _log_with_snapshot(tmp_path, upto=100, snapshot_at=50)
    temp = tmp_path / snapshot_name(90).replace(".snap", ".tmp")
    temp.write_bytes(encode_snapshot(_snapshot(90), first_seq_kept=0)[:37])
    wal = _wal(tmp_path)
    assert wal.load().snapshot == _snapshot(50)
    wal.close()
    assert not temp.exists()


def test_a_crash_before_the_log_was_compacted_is_finished_on_open(tmp_path: Path) -> None:
    directory, saved = tmp_path / "wal", tmp_path / "saved"
    records = [Promised(ballot=BALLOT), *(_accepted(s) for s in range(1, 101))]
    wal = _wal(directory)
    wal.load()
    wal.append(records)
    wal.sync()
    shutil.copytree(directory, saved)
    wal.install_snapshot(_snapshot(80))
    wal.close()
    kept = {p.name for p in _segments(directory)}
    for path in _segments(saved):  # as if the deletions never reached the disk
        if path.name not in kept:
            shutil.copyfile(path, directory / path.name)
    wal = _wal(directory)
    loaded = wal.load()
    wal.close()
    assert {p.name for p in _segments(directory)} == kept
    assert loaded.records == tuple(records[len(records) - len(loaded.records) :])


@pytest.mark.parametrize("damage", ["flip", "truncate", "version"])
def test_a_corrupt_snapshot_is_reported(tmp_path: Path, damage: str) -> None:
    _log_with_snapshot(tmp_path, upto=100, snapshot_at=50)
    path = tmp_path / snapshot_name(50)
    data = path.read_bytes()
    if damage == "flip":
        flipped = bytearray(data)
        flipped[len(data) - 5] ^= 0x10
        path.write_bytes(bytes(flipped))
    elif damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        original = msgspec.msgpack.decode(data, type=SnapshotFile)
        bumped = SnapshotFile(version=SNAPSHOT_VERSION + 1, crc=original.crc, body=original.body)
        path.write_bytes(msgspec.msgpack.encode(bumped))
    with pytest.raises(CorruptSnapshot) as info:
        _wal(tmp_path).load()
    assert info.value.path == str(path)


def test_a_missing_log_after_a_snapshot_is_corruption(tmp_path: Path) -> None:
    _log_with_snapshot(tmp_path, upto=100, snapshot_at=50)
    for path in _segments(tmp_path):
        path.unlink()
    with pytest.raises(CorruptLog, match="no log segment"):
        _wal(tmp_path).load()
