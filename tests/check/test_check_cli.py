"""`pyxos check history FILE`: exit codes and output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pyxos.cli.main import main

GOOD = (
    "# a write, then a read that sees it\n"
    '{"client": 1, "kind": "put", "key": "k", "value": "a", "invoke": 0, "complete": 10}\n'
    '{"client": 2, "kind": "get", "key": "k", "invoke": 20, "complete": 30, "output": "a"}\n'
)
BAD = (
    '{"client": 1, "kind": "put", "key": "k", "value": "a", "invoke": 0, "complete": 10}\n'
    '{"client": 2, "kind": "get", "key": "k", "invoke": 20, "complete": 30}\n'
)


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "history.jsonl"
    path.write_text(text)
    return str(path)


def test_a_linearizable_history_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "history", _write(tmp_path, GOOD)]) == 0
    out, err = capsys.readouterr()
    assert out == "linearizable: 2 operations on 1 key\n"
    assert err == ""


def test_a_violation_exits_1_with_the_counterexample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "history", _write(tmp_path, BAD)]) == 1
    out, _ = capsys.readouterr()
    assert out.startswith('NOT LINEARIZABLE: 2 operations on 1 key; key "k"')
    assert '[0, 10] client 1: put("k", "a") -> prev absent' in out
    assert '[20, 30] client 2: get("k") -> read absent' in out


def test_an_inconclusive_search_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "history", "--max-states", "1", _write(tmp_path, GOOD)]) == 1
    assert capsys.readouterr().out.startswith("INCONCLUSIVE")


def test_stdin_is_read_for_a_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(BAD))
    assert main(["check", "history", "-"]) == 1
    assert "NOT LINEARIZABLE" in capsys.readouterr().out


def test_an_invalid_line_exits_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, GOOD + '{"client": 3, "kind": "put", "key": "k", "invoke": 40}\n')
    assert main(["check", "history", path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    reason = "invalid operation: put needs a value (the value written)"
    assert err == f"pyxos check history: {path}:4: {reason}\n"


def test_malformed_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, '{"client": 1,\n')
    assert main(["check", "history", path]) == 2
    assert f"{path}:1: not a JSON object" in capsys.readouterr().err


def test_an_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.jsonl"
    assert main(["check", "history", str(missing)]) == 2
    assert f"cannot read {missing}" in capsys.readouterr().err


def test_a_binary_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "binary.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["check", "history", str(path)]) == 2
    assert f"cannot read {path}" in capsys.readouterr().err


def test_check_without_a_subcommand_shows_help_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check"]) == 2
    assert "history" in capsys.readouterr().err


def test_bad_max_states_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "history", "--max-states", "0", "f.jsonl"])
    assert exited.value.code == 2
    assert "--max-states: must be at least 1" in capsys.readouterr().err


def test_help_describes_the_format_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "history", "--help"])
    out = capsys.readouterr().out
    assert "docs/history-format.md" in out and "exit status" in out


def test_the_verdict_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "history", _write(tmp_path, BAD), "-o", "json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert (verdict["ok"], verdict["undecided"]) == (False, False)
    assert verdict["report"].startswith("NOT LINEARIZABLE")
    assert main(["check", "history", _write(tmp_path, GOOD), "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
