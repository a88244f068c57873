"""Transcript tests: scripted scenarios whose every effect is checked in under `testdata/`.

Run `pytest tests/core/transcripts/test_transcripts.py --rewrite` after a deliberate change of
behaviour and review the diff of the transcripts like any other change."""

from __future__ import annotations

from pathlib import Path

import pytest
from transcript import replay

TESTDATA = Path(__file__).parent / "testdata"


@pytest.mark.parametrize(
    "path", sorted(TESTDATA.glob("*/*.txt")), ids=lambda p: f"{p.parent.name}-{p.stem}"
)
def test_transcript(path: Path, rewrite: bool) -> None:
    expected, actual = replay(path)
    if rewrite:
        path.write_text(actual)
        return
    assert actual == expected, f"{path.name} changed; rerun with --rewrite and review the diff"


@pytest.mark.parametrize(
    ("protocol", "scenarios"),
    [
        ("multipaxos", {"election", "repropose", "catchup_snapshot", "rejoin"}),
        ("wpaxos", {"forward", "steal", "repropose_after_steal", "handover", "catchup"}),
    ],
)
def test_the_transcripts_cover_the_scenarios_each_protocol_must_keep(
    protocol: str, scenarios: set[str]
) -> None:
    names = {p.stem for p in (TESTDATA / protocol).glob("*.txt")}
    assert scenarios <= names
