"""The corpus of hand-written histories in testdata/: classic anomalies, and correct runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyxos.check import check_history, parse_jsonl
from pyxos.check.bruteforce import is_linearizable

TESTDATA = Path(__file__).parent / "testdata"
BAD = sorted((TESTDATA / "nonlinearizable").glob("*.jsonl"))
GOOD = sorted((TESTDATA / "linearizable").glob("*.jsonl"))


def test_the_corpus_is_there() -> None:
    assert len(BAD) >= 10
    assert len(GOOD) >= 8


@pytest.mark.parametrize("path", BAD + GOOD, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_file_explains_itself(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# ") and len(lines[0]) > 20


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_anomalies_are_flagged(path: Path) -> None:
    ops = parse_jsonl(path.read_text())
    result = check_history(ops)
    assert not result.ok and not result.undecided
    assert result.counterexample and result.minimal
    assert not is_linearizable(ops)
    # The counterexample alone is a failing history too (e.g. to file with a bug report).
    assert not check_history(result.counterexample).ok


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_correct_runs_pass(path: Path) -> None:
    ops = parse_jsonl(path.read_text())
    assert check_history(ops).ok
    assert is_linearizable(ops)


def test_the_stale_read_among_many_keys_names_its_key() -> None:
    ops = parse_jsonl(
        (TESTDATA / "nonlinearizable" / "stale_read_among_many_keys.jsonl").read_text()
    )
    assert check_history(ops).failing_key == "b"
