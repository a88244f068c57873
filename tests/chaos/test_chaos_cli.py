"""`pyxos fault ...` against a real local cluster with fault injection on: every kind is set
through the admin routes, listed and healed; a partition tells both sides; a cluster without
fault injection refuses. Every wait polls with a deadline."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from pyxos.chaos.cluster import LocalCluster
from pyxos.cli.main import main


async def _start(cluster: LocalCluster) -> None:
    async with aiohttp.ClientSession() as session:
        await cluster.start_all(session)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    c = LocalCluster(tmp_path_factory.mktemp("fault-cli"))
    try:
        asyncio.run(_start(c))
        yield c
    finally:
        c.close()


def faults(cluster: LocalCluster, k: int) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"http://{cluster.http[k]}/v1/admin/faults", timeout=5) as r:
        listed: list[dict[str, object]] = json.loads(r.read())["faults"]
        return listed


def fault(capsys: pytest.CaptureFixture[str], cluster: LocalCluster, *argv: str) -> tuple[int, str]:
    code = main(["fault", *argv, "--config", str(cluster.config)])
    out, err = capsys.readouterr()
    return code, out + err


def test_each_kind_is_set_listed_and_healed(
    capsys: pytest.CaptureFixture[str], cluster: LocalCluster
) -> None:
    assert fault(capsys, cluster, "heal")[0] == 0
    code, out = fault(capsys, cluster, "drop", "--node", "1", "--to", "2", "--duration", "60")
    assert code == 0, out
    assert "node 1" in out and "drop to [2]" in out
    code, out = fault(
        capsys, cluster, "slow", "--node", "2", "--to", "1,3", "--delay-ms", "5", "--duration", "60"
    )
    assert code == 0, out
    code, out = fault(
        capsys, cluster, "flaky", "--node", str(cluster.http[3]), "--to", "1", "--p", "0.1",
        "--duration", "60",
    )  # fmt: skip
    assert code == 0, out
    assert [f["kind"] for f in faults(cluster, 1)] == ["drop"]
    assert [f["kind"] for f in faults(cluster, 2)] == ["slow"]
    assert [f["kind"] for f in faults(cluster, 3)] == ["flaky"]
    code, out = fault(capsys, cluster, "list")
    assert code == 0 and "drop to [2]" in out and "by 5 ms" in out and "p=0.1" in out
    code, out = fault(capsys, cluster, "list", "-o", "json")
    listed = json.loads(out)["nodes"]
    assert [(n["node"], n["ok"]) for n in listed] == [
        ("node 1", True),
        ("node 2", True),
        ("node 3", True),
    ]
    assert [f["kind"] for f in listed[2]["answer"]["faults"]] == ["flaky"]
    code, out = fault(capsys, cluster, "heal")
    assert code == 0 and out.count("healed 1 faults") == 3
    assert all(faults(cluster, k) == [] for k in cluster.ids)


def test_partition_tells_both_sides_and_crash_refuses_clients(
    capsys: pytest.CaptureFixture[str], cluster: LocalCluster
) -> None:
    code, out = fault(capsys, cluster, "partition", "--isolate", "3", "--duration", "60")
    assert code == 0, out
    assert faults(cluster, 3)[0]["peers"] == [1, 2]
    assert faults(cluster, 1)[0]["peers"] == [3]
    code, out = fault(capsys, cluster, "crash", "--node", "3", "--duration", "60")
    assert code == 0, out
    request = urllib.request.Request(f"http://{cluster.http[3]}/v1/kv/x", data=b"1", method="PUT")
    try:
        urllib.request.urlopen(request, timeout=5)
        raise AssertionError("a crashed node served a write")
    except urllib.error.HTTPError as exc:
        assert exc.code == 503
    assert fault(capsys, cluster, "heal")[0] == 0


def test_usage_errors(capsys: pytest.CaptureFixture[str], cluster: LocalCluster) -> None:
    code, out = fault(capsys, cluster, "partition", "--isolate", "1,2,3", "--duration", "1")
    assert code == 2 and "some but not all" in out
    code, out = fault(capsys, cluster, "drop", "--node", "9", "--to", "1", "--duration", "1")
    assert code == 2 and "no node 9" in out
    code, out = fault(capsys, cluster, "drop", "--node", "1", "--to", "1", "--duration", "1")
    assert code == 1 and "not a peer" in out


def test_a_cluster_without_fault_injection_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Fault injection is decided by the cluster file a node starts with: a one-node cluster
    # whose file has it off.
    plain = LocalCluster(tmp_path, size=1)
    text = plain.config.read_text().replace("fault_injection = true", "fault_injection = false")
    plain.config.write_text(text)
    try:
        asyncio.run(_start(plain))
        code = main(["fault", "list", "--node", str(plain.http[1])])
        out = capsys.readouterr().out
        assert code == 1
        assert "fault injection is off" in out
    finally:
        plain.close()
