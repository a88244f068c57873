"""`pyxos bench peers` against pyxos alone (etcd and PySyncObj need installs): a real 3-node
cluster, writes and linearizable reads with 2 clients, the table printed and the rows saved."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from pyxos.bench.peers.table import PeersReport
from pyxos.cli.main import main


def test_pyxos_alone_over_the_fast_protocol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "peers.json"
    argv = ["bench", "peers", "--systems", "pyxos", "--protocols", "fast", "--clients", "2"]
    status = main([*argv, "--seconds", "0.5", "--warmup", "0.1", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    report = msgspec.json.decode(out.read_bytes(), type=PeersReport)
    assert [(r.protocol, r.operation, r.clients) for r in report.rows] == [
        ("fast", "writes", 2),
        ("fast", "reads", 2),
    ]
    for row in report.rows:
        assert row.operations > 0 and row.errors == 0
        assert row.throughput_ops_s > 0 and row.p99_ms >= row.p50_ms > 0
        assert row.server_cpu_s > 0
    assert "| pyxos | fast | writes | 2 |" in printed
    assert "| 1.00x | 1.00x |" in printed
    assert report.failed == {}


def test_bad_options_are_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "peers", "--systems", "zookeeper"]) == 2
    assert "--systems: choose from pyxos, etcd, pysyncobj" in capsys.readouterr().err
