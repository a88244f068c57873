"""`pyxos bench run` and `pyxos bench matrix` against real node processes: the run does
operations, its history passes the checker, and the report, history and plot are written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyxos.bench.report import from_json
from pyxos.check import check_history, parse_jsonl
from pyxos.cli.bench_cmd import temporary_cluster
from pyxos.cli.main import main


@pytest.fixture(scope="module")
def endpoints() -> Iterator[tuple[str, str]]:
    """`(HTTP, fast protocol)` addresses of a 3-node cluster, comma-separated."""
    with temporary_cluster() as config:
        yield (
            ",".join(str(s.http) for s in config.nodes),
            ",".join(str(s.client) for s in config.nodes),
        )


def assert_run_left_a_good_report(out: Path) -> None:
    report = from_json((out / "report.json").read_bytes())
    assert report.operations > 0
    assert report.throughput_ops_s > 0
    assert report.latency.count == report.operations
    assert report.check is not None and report.check.ok
    ops = parse_jsonl((out / "history.jsonl").read_text())
    assert len(ops) == report.history_ops >= report.operations
    assert check_history(ops).ok
    assert (out / "latency.png").read_bytes().startswith(b"\x89PNG")


def test_run_with_its_own_cluster_over_the_fast_protocol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "run", "--cluster", "-T", "2", "--concurrency", "4", "--no-progress"]
    assert main([*argv, "--protocol", "fast", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "temporary cluster" in out
    assert "check      linearizable" in out
    assert_run_left_a_good_report(tmp_path)


def test_run_over_http_spread_over_every_node(
    endpoints: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    http, fast = endpoints
    argv = ["bench", "run", "-T", "2", "--concurrency", "4", "--protocol", "http", "--load"]
    argv += ["-K", "100", "--distribution", "zipfian", "--http-endpoints", http]
    assert main([*argv, "--endpoints", fast, "--out", str(tmp_path)]) == 0
    assert "p99.9" in capsys.readouterr().out
    assert_run_left_a_good_report(tmp_path)
    report = from_json((tmp_path / "report.json").read_bytes())
    assert report.endpoints == tuple(http.split(","))
    assert report.load_ops == 100


def test_matrix_prints_a_markdown_table(
    endpoints: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    http, fast = endpoints
    argv = ["bench", "matrix", "-T", "0.5", "--warmup", "0", "-K", "50", "--client-counts", "2"]
    argv += ["--http-endpoints", http, "--endpoints", fast, "--no-progress"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert table[0].startswith("| protocol | operation, ops/s (p50 / p99 ms) | 2 clients |")
    assert [line.split(" | ")[:2] for line in table[2:]] == [
        ["| fast", "writes"],
        ["| fast", "linearizable reads"],
        ["| http", "writes"],
        ["| http", "linearizable reads"],
    ]
    assert (tmp_path / "http-reads-2" / "report.json").exists()
    argv += ["--protocols", "fast", "--workloads", "reads", "-o", "json"]
    assert main([*argv, "--out", str(tmp_path / "json")]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["protocol"], r["operation"], r["clients"]) for r in rows] == [("fast", "reads", 2)]
    assert rows[0]["throughput_ops_s"] > 0


def test_run_finds_the_cluster_through_the_environment_and_prints_json(
    endpoints: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, fast = endpoints
    monkeypatch.setenv("PYXOS_ENDPOINTS", fast.split(",")[1])  # one node names the others
    argv = ["bench", "run", "-T", "1", "--concurrency", "2", "--no-progress", "-o", "json"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    report = from_json(out.encode())  # stdout is the report alone
    assert report == from_json((tmp_path / "report.json").read_bytes())
    assert report.endpoints == tuple(fast.split(","))
    assert "pyxos bench run: fast to" in err
