"""`pyxos wal inspect|verify DIR` on a clean, a torn and a corrupt log."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from random import Random

import pytest

from conftest import MakeRecords
from pyxos.cli import wal_cmd
from pyxos.core.ids import Ballot
from pyxos.storage.logstore import Snapshot
from pyxos.storage.wal import SEGMENT_SUFFIX, WriteAheadLog, scan_segment


def _run(*argv: str) -> int:
    # `pyxos wal` is registered by pyxos.cli.main; the tests build the same parser directly.
    parser = argparse.ArgumentParser(prog="pyxos")
    wal_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["wal", *argv])
    result: int = args.func(args)
    return result


def _segments(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.endswith(SEGMENT_SUFFIX))


@pytest.fixture
def log_dir(tmp_path: Path, make_records: MakeRecords) -> Path:
    wal = WriteAheadLog(tmp_path, segment_bytes_max=1024)
    wal.load()
    wal.append(make_records(Random(1), 120))
    wal.install_snapshot(Snapshot(slot=20, promised=Ballot(1, 1), state=b"abc" + b"s"))
    wal.close()
    return tmp_path


def test_clean_log(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("inspect", str(log_dir)) == 0
    out = capsys.readouterr().out
    assert "accepted" in out and " ok\n" in out
    assert "state      clean" in out
    assert "snapshot   snap-0000000000000014.snap: slot 20" in out
    assert "records    " in out and "slots      " in out and "promise    " in out
    assert _run("verify", str(log_dir)) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: ") and "repairable" not in out


def test_summary_only(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("inspect", "--summary", str(log_dir)) == 0
    out = capsys.readouterr().out
    assert out.startswith("summary\n") and " ok\n" not in out


def test_torn_log_is_repairable(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    last = _segments(log_dir)[-1]
    os.truncate(last, last.stat().st_size - 2)
    assert _run("verify", str(log_dir)) == 0
    out = capsys.readouterr().out
    assert "repairable: torn tail at " + last.name in out
    assert _run("inspect", str(log_dir)) == 0
    assert "torn tail" in capsys.readouterr().out
    assert last.stat().st_size > 0  # the tools never change anything


def test_corrupt_log(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _segments(log_dir)[0]
    offset = scan_segment(first)[0][1].offset
    data = bytearray(first.read_bytes())
    data[offset + 9] ^= 0x01
    first.write_bytes(bytes(data))
    assert _run("verify", str(log_dir)) == 1
    out = capsys.readouterr().out
    assert f"corrupt: corrupt log: {first} at byte offset {offset}: checksum mismatch" in out
    assert "rebuild it from its peers" in out
    assert _run("inspect", str(log_dir)) == 1
    out = capsys.readouterr().out
    assert "BAD: checksum mismatch" in out and "state      CORRUPT" in out


def test_corrupt_snapshot(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = next(log_dir.glob("snap-*.snap"))
    snap.write_bytes(snap.read_bytes()[:-3])
    assert _run("verify", str(log_dir)) == 1
    assert f"corrupt snapshot: {snap}" in capsys.readouterr().out


def test_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("verify", str(tmp_path / "nope")) == 2
    assert "not a directory" in capsys.readouterr().err


def test_a_node_s_data_directory_is_read_through_its_wal(
    tmp_path: Path, make_records: MakeRecords, capsys: pytest.CaptureFixture[str]
) -> None:
    node = tmp_path / "data" / "node-2"
    wal = WriteAheadLog(node / "wal")
    wal.load()
    wal.append(make_records(Random(2), 7))
    wal.sync()
    wal.close()
    (node / "boot").write_text("1\n")
    assert _run("verify", str(node)) == 0
    assert capsys.readouterr().out.startswith(f"ok: {node / 'wal'}: 7 records in 1 segments")
    assert _run("inspect", "--summary", str(node)) == 0
    out = capsys.readouterr().out
    assert f"directory  {node / 'wal'}" in out and "records    7:" in out
    assert _run("verify", str(node), "-o", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["records"], report["directory"]) == (True, 7, str(node / "wal"))
    # A cluster's data directory, or one with no log at all, is no false all-clear.
    assert _run("verify", str(tmp_path / "data")) == 2
    err = capsys.readouterr().err
    assert "is a cluster's data directory: give one node's" in err and str(node) in err
    (tmp_path / "empty").mkdir()
    assert _run("verify", str(tmp_path / "empty")) == 2
    assert "no write-ahead log here" in capsys.readouterr().err


def test_verify_reports_corruption_as_json(
    log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    segment = _segments(log_dir)[1]
    data = bytearray(segment.read_bytes())
    data[20] ^= 0xFF
    segment.write_bytes(bytes(data))
    assert _run("verify", str(log_dir), "-o", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and str(segment) in report["error"]


def test_inspect_as_json_lists_every_record_and_the_summary(
    log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("inspect", "-o", "json", str(log_dir)) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["state"] == "clean" and document["protocol"] == "multipaxos/1"
    assert document["snapshot"]["slot"] == 20
    records = [r for seg in document["segments"] for r in seg["records"]]
    assert len(records) == document["records"] == sum(document["by_type"].values())
    assert {r["type"] for r in records} <= {"promised", "accepted", "decided"}
    assert all(seg["end"] == {"state": "clean"} for seg in document["segments"])
    assert _run("inspect", "--summary", "-o", "json", str(log_dir)) == 0
    assert "segments" not in json.loads(capsys.readouterr().out)
