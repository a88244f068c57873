"""`pyxos chaos` end to end on a real 3-node cluster: a CI-sized run with every fault kind
passes (linearizable, nothing lost, logs agree, serving within 5 s of every heal), and the
TEST BUILD with a planted bug (followers answer linearizable reads from local state) fails
with a counterexample. The artifacts are checked too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyxos.chaos.schedule import STEP_KINDS, make_schedule
from pyxos.check.history import parse_jsonl
from pyxos.cli.main import main

CI_DURATION_S = 75
PLANTED_SEED = 5
"""A seed whose first partition isolates a follower (asserted below): its stale reads are what
the checker must catch."""


def test_a_ci_sized_chaos_run_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_dir = tmp_path / "chaos"
    code = main(
        [
            "chaos",
            "--duration", str(CI_DURATION_S),
            "--seed", "11",
            "--fault-min", "2.5",
            "--fault-max", "4",
            "--settle", "2.5",
            "--out", str(out_dir),
            "-o", "json",
        ]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads((out_dir / "summary.json").read_text())
    assert json.loads(out) == summary  # -o json: stdout is the summary, the progress on stderr
    assert err.startswith("pyxos chaos: seed 11")
    assert summary["verdict"] == "PASS"
    assert summary["anomalies"] == 0 and summary["lost_acked_writes"] == 0
    assert set(summary["kinds"]) == set(STEP_KINDS)
    assert summary["time_to_serve_s_max"] <= 5.0
    history = parse_jsonl((out_dir / "history.jsonl").read_text())
    assert len(history) == summary["operations"] > 500
    timeline = [json.loads(line) for line in (out_dir / "timeline.jsonl").read_text().splitlines()]
    faults = [e for e in timeline if e["event"] == "fault"]
    heals = [e for e in timeline if e["event"] == "heal"]
    assert len(faults) == len(heals) == summary["steps"]
    assert all((out_dir / "cluster" / f"node-{k}.log").stat().st_size > 0 for k in (1, 2, 3))
    print(err)


def test_the_planted_bug_fails_with_a_counterexample(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A follower cut off for 7 s while writes go on, with 8 workers (a worker whose write went
    # to the cut-off follower waits out its timeout): on a loaded machine the workload is slow,
    # and shorter cuts with fewer workers sometimes let no stale read through.
    steps = make_schedule(
        PLANTED_SEED, 16, kinds=("partition",), fault_s_min=7, fault_s_max=7.5, settle_s=2
    )
    assert steps[0].target == "follower"
    code = main(
        [
            "chaos",
            "--planted-bug", "follower_local_reads",
            "--faults", "partition",
            "--duration", "16",
            "--seed", str(PLANTED_SEED),
            "--workers", "8",
            "--fault-min", "7",
            "--fault-max", "7.5",
            "--settle", "2",
            "--out", str(tmp_path / "chaos"),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1, out
    assert "NOT LINEARIZABLE" in out and "counterexample" in out
    assert "VERDICT: FAIL: history not linearizable" in out
    assert f"replay: pyxos chaos --seed {PLANTED_SEED}" in out
    assert "--planted-bug follower_local_reads" in out
    print(out)


def test_a_five_node_cluster_with_flexible_quorums_survives_chaos(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Phase 1 on 4 of 5 nodes, phase 2 on 2 of them (sent to those 2 first: thrifty): kill -9,
    a crash and a partition of the leader or a follower, and nothing is lost."""
    out_dir = tmp_path / "chaos"
    code = main(
        [
            "chaos",
            "--nodes", "5",
            "--quorums", "flexible:q1=4,q2=2",
            "--thrifty",
            "--duration", "20",
            "--faults", "kill,crash,partition",
            "--seed", "3",
            "--fault-min", "2.5",
            "--fault-max", "3.5",
            "--settle", "2",
            "--out", str(out_dir),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "VERDICT: PASS" in out
    assert "compared slots 1.." in out and "of nodes 1, 2, 3, 4, 5" in out
    config = (out_dir / "cluster" / "cluster.toml").read_text()
    assert 'kind = "flexible"\nq1 = 4\nq2 = 2\nthrifty = true' in config
