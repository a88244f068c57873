"""Transcript tests: scripted scenarios whose every effect is checked in under `testdata/`.

Run `pytest tests/core/multipaxos/test_transcripts.py --rewrite` after a deliberate change of
behaviour and review the diff of the transcripts like any other change."""

from __future__ import annotations

from pathlib import Path

import pytest
from transcript import replay

TESTDATA = Path(__file__).parent / "testdata"


@pytest.mark.parametrize("path", sorted(TESTDATA.glob("*.txt")), ids=lambda p: p.stem)
def test_transcript(path: Path, rewrite: bool) -> None:
    expected, actual = replay(path)
    if rewrite:
        path.write_text(actual)
        return
    assert actual == expected, f"{path.name} changed; rerun with --rewrite and review the diff"


def test_the_transcripts_cover_the_scenarios_the_core_must_keep() -> None:
    names = {p.stem for p in TESTDATA.glob("*.txt")}
    assert {"election", "repropose", "catchup_snapshot", "rejoin"} <= names
