"""One seed, one run: byte-identical transcripts across processes and hash seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pyxos.sim import run_seed


def _transcript(tmp_path: Path, hash_seed: str) -> bytes:
    out = tmp_path / f"transcript-{hash_seed}.txt"
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    command = [
        sys.executable,
        "-m",
        "pyxos.cli.main",
        "sim",
        "--seed",
        "7",
        "--transcript",
        str(out),
    ]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out.read_bytes()


def test_same_seed_same_transcript_whatever_the_hash_seed(tmp_path: Path) -> None:
    first = _transcript(tmp_path, "1")
    second = _transcript(tmp_path, "2")
    assert first == second
    text = first.decode()
    assert text.count("Accept(") > 100  # messages, not just a header
    assert "fault crash" in text and "fault partition" in text
    assert "applied slot=" in text and "complete" in text


def test_same_seed_same_result_in_process() -> None:
    a, b = run_seed(21), run_seed(21)
    assert a.history == b.history
    assert a.stats == b.stats
    assert a.violations == b.violations


def test_the_transcript_does_not_change_the_run() -> None:
    assert run_seed(22, transcript=True).history == run_seed(22).history
