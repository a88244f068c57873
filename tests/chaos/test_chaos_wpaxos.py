"""`pyxos chaos --protocol wpaxos` with 3 zones x 3 nodes: under kill -9, pauses and partitions
the history is linearizable, no acknowledged write is lost and every object's log agrees; the
TEST BUILD whose nodes read locally when they do not own the key is caught.

A node restarted after kill -9 learns the slots it missed of an object nobody writes any more
because the object's owner sends that object's last commit again until every member says it
has it; without that the run's "every node applied the same prefix" check fails (it did, which
is how the gap was found). The convergence wait is cut to a few seconds: the nodes agree well
within it, and a regression fails the run without costing the suite its full 30 s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pyxos.chaos.run
from pyxos.cli.main import main

CONVERGE_DEADLINE_S = 5.0


@pytest.fixture(autouse=True)
def short_convergence_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyxos.chaos.run, "CONVERGE_DEADLINE_S", CONVERGE_DEADLINE_S)


def test_wpaxos_in_three_zones_survives_kills_pauses_and_partitions(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "chaos"
    code = main(
        [
            "chaos",
            "--protocol", "wpaxos",
            "--zones", "3",
            "--protocol-option", "policy=majority",
            "--duration", "16",
            "--faults", "kill,pause,partition",
            "--seed", "3",
            "--fault-min", "2",
            "--fault-max", "3",
            "--settle", "1.5",
            "--out", str(out_dir),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "linearizability: linearizable:" in out, out
    assert "compared the logs of" in out and "objects on nodes 1001, 1002, 1003, 2001" in out
    assert "OK: every object's every slot agrees" in out
    summary = json.loads((out_dir / "summary.json").read_text())
    assert set(summary["kinds"]) == {"kill", "pause", "partition"}
    assert summary["anomalies"] == 0 and summary["lost_acked_writes"] == 0
    assert summary["time_to_serve_s_max"] <= 5.0
    config = (out_dir / "cluster" / "cluster.toml").read_text()
    assert 'protocol = "wpaxos"' in config and 'id = "3.3"' in config
    assert 'kind = "grid"\nfz = 0\nfn = 1' in config and '[options]\npolicy = "majority"' in config
    assert (out_dir / "cluster" / "node-2.2.log").stat().st_size > 0
    assert code == 0, out
    assert "VERDICT: PASS" in out


def test_the_planted_bug_is_caught_under_wpaxos(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        [
            "chaos",
            "--protocol", "wpaxos",
            "--zones", "3",
            "--planted-bug", "follower_local_reads",
            "--faults", "partition",
            "--duration", "12",
            "--seed", "5",
            "--workers", "8",
            "--fault-min", "6",
            "--fault-max", "6.5",
            "--settle", "1.5",
            "--out", str(tmp_path / "chaos"),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1, out
    assert "NOT LINEARIZABLE" in out and "counterexample" in out
    assert "--zones 3 --protocol wpaxos --planted-bug follower_local_reads" in out
