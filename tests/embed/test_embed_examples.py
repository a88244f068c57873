"""Every example in examples/ runs its demo (a temporary three-node cluster in one process)
and says what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RUN_DEADLINE_S = 120


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        ("counter.py", ["node 3 added 1: total 3", "total on node 1: 3"]),
        ("pysyncobj_port.py", ["add_value -> (11, 'test')", "node 3 get_counter -> 11"]),
        ("worker_pool.py", ["stopping the leader", "20 jobs done, by the workers of nodes"]),
    ],
)
def test_the_example_runs(example: str, expected: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / example), "--demo"],
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for line in expected:
        assert line in done.stdout, done.stdout
