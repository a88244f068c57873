"""Every example in examples/ runs its demo (a temporary three-node cluster in one process)
and says what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pyxos.embed import local_cluster_toml

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


@pytest.mark.parametrize("example", ["counter.py", "pysyncobj_port.py", "worker_pool.py"])
def test_an_example_run_without_arguments_prints_its_usage(example: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / example)],
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.startswith(f"usage: python examples/{example} --demo"), done.stderr
    assert "Traceback" not in done.stderr


def test_a_lone_node_of_an_example_says_it_has_no_quorum(tmp_path: Path) -> None:
    config = tmp_path / "cluster.toml"
    config.write_text(local_cluster_toml(3, tmp_path / "data"))
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "counter.py"), str(config), "2"],
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("counter: no quorum: nodes 1 and 3 are unreachable"), done.stderr
