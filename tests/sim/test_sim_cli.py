"""`pyxos sim` and `pyxos bench sim`: output, files, replay line and exit status."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

import pytest
from sim_fakes import mute_factory

from pyxos.cli import sim_cmd
from pyxos.cli.main import main
from pyxos.sim import runner


def test_one_seed_prints_options_and_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript, history = tmp_path / "t.txt", tmp_path / "h.jsonl"
    code = main(["sim", "--seed", "4", "--transcript", str(transcript), "--history", str(history)])
    out = capsys.readouterr().out
    assert code == 0, out
    first, second = out.splitlines()[:2]
    assert first.startswith("seed 4: options nodes=")
    assert second.startswith("seed 4: ok ops ")
    assert "->n" in transcript.read_text()
    lines = history.read_text().splitlines()
    assert len(lines) >= 200 and all(json.loads(line)["client"] > 1000 for line in lines)


def test_a_failing_seed_prints_violations_and_replay(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "node_factory_of", lambda spec: mute_factory)
    code = main(["sim", "--seed", "4", "--ops", "30", "--convergence-us-max", "500000"])
    out = capsys.readouterr().out
    assert code == 1
    assert "violation: liveness" in out
    assert out.rstrip().splitlines()[-1] == (
        "replay: pyxos sim --seed 4 --ops 30 --convergence-us-max 500000"
    )


def test_the_replay_repeats_the_quorums(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runner, "node_factory_of", lambda spec: mute_factory)
    argv = ["sim", "--seed", "4", "--nodes", "5", "--quorums", "flexible:q1=4,q2=2"]
    assert main([*argv, "--ops", "30", "--convergence-us-max", "500000"]) == 1
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert last == (
        "replay: pyxos sim --seed 4 --quorums flexible:q1=4,q2=2 --nodes 5 --ops 30 "
        "--convergence-us-max 500000"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--quorums", "flexible:q1=2,q2=2", "--nodes", "5"], "can be disjoint"),
        (["--quorums", "flexible:q1=4"], "need both q1 and q2"),
        (["--quorums", "ring"], "unknown quorum kind 'ring'"),
        (["--protocol", "raft"], "unknown protocol 'raft'"),
    ],
)
def test_a_bad_protocol_or_quorum_system_is_a_clear_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with contextlib.suppress(SystemExit):
        assert main(["sim", "--seed", "1", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_range_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--seeds", "1..3"]) == 0
    out = capsys.readouterr().out
    assert "seeds 1..3: 3 runs, 0 violations, 0 failing seeds" in out
    assert "coverage: leader_change" in out
    assert "simulated client ops per CPU-second" in out


def test_bench_sim_prints_the_speed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "sim", "--seeds", "1..2"]) == 0
    assert "simulator speed:" in capsys.readouterr().out


def test_parse_seed_range() -> None:
    assert sim_cmd.parse_seed_range("3..5") == range(3, 6)
    assert sim_cmd.parse_seed_range("7") == range(7, 8)
    with pytest.raises(argparse.ArgumentTypeError):
        sim_cmd.parse_seed_range("5..3")
    with pytest.raises(argparse.ArgumentTypeError):
        sim_cmd.parse_seed_range("a..b")


def test_one_seed_and_a_sweep_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--seed", "3", "-o", "json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one["seed"] == 3 and one["ok"] and one["violations"] == []
    assert one["options"]["nodes"] in (3, 5) and one["quorums"] == "majority"
    assert one["stats"]["ops_completed"] >= 200 and one["replay"] is None
    assert main(["sim", "--seeds", "1..2", "-o", "json"]) == 0
    many = json.loads(capsys.readouterr().out)
    assert (many["runs"], many["violations"], many["failing"]) == (2, 0, [])
    assert many["speed"]["ops_per_cpu_s"] > 0
    assert main(["bench", "sim", "--seeds", "1..2", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["failing"] == []
