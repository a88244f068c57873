"""`pyxos check logs`: the comparison rules on made-up logs, then a real cluster whose logs
agree, and the same cluster with one node's log replaced by a doctored copy."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiohttp import web
from cli_cluster import FAILOVER_DEADLINE_S, ClientCluster, poll, run_main, started_cluster

from pyxos.check import logs as check_logs
from pyxos.cli.main import main as pyxos_main
from pyxos.client import Client
from pyxos.client.admin import http_get
from pyxos.runtime.config import HostPort, cluster_toml


def test_parse_log() -> None:
    assert check_logs.parse_log("1 noop\n2 UNKNOWN\n3 7.1 put a='b'; 7.2 del a\n") == {
        1: "noop",
        2: None,
        3: "7.1 put a='b'; 7.2 del a",
    }
    with pytest.raises(ValueError, match="line 2 is not"):
        check_logs.parse_log("1 noop\nnonsense\n")


def test_compare_logs_rules() -> None:
    same = {1: "noop", 2: "put a", 3: "put b"}
    agree = check_logs.compare_logs({1: same, 2: same, 3: {1: "noop", 2: "put a"}}, members=3)
    assert agree.ok and (agree.first, agree.last) == (1, 3)  # slot 3 on 2 of 3: a majority

    differ = check_logs.compare_logs(
        {1: same, 2: {**same, 2: "put EVIL"}, 3: {1: "noop", 2: "put a"}}, members=3
    )
    assert [(p.slot, p.kind) for p in differ.problems] == [(2, "mismatch")]
    assert check_logs.render_comparison(differ) == (
        "compared slots 1..3 of nodes 1, 2, 3\n"
        "slot 2: mismatch: nodes 1, 3: put a | node 2: put EVIL\n"
        "FAILED: 1 slots differ between nodes, 0 slots are held by fewer than 2 of 3 members\n"
    )

    lonely = check_logs.compare_logs({1: {1: "x", 2: "y"}, 2: {1: "x"}, 3: {}}, members=3)
    assert [(p.slot, p.kind) for p in lonely.problems] == [(2, "no majority")]
    assert "slot 2: no majority: node 1: y | nodes 2, 3: (nothing)" in (
        check_logs.render_comparison(lonely)
    )
    # A node that could not be read counts against the majority, not as a disagreement.
    two_of_three = check_logs.compare_logs({1: {1: "x"}, 2: {1: "x"}}, members=3)
    assert two_of_three.ok

    compacted = check_logs.compare_logs({1: {1: None, 2: "x"}, 2: {1: None, 2: "x"}}, members=3)
    assert compacted.ok and compacted.unheld == 1
    assert "1 slots are held by no node" in check_logs.render_comparison(compacted)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientCluster]:
    with started_cluster(tmp_path_factory) as started:
        yield started


@contextmanager
def fake_log_node(text: str) -> Iterator[HostPort]:
    """A tiny HTTP server that answers `/log/print/dump` with `text`, in a thread."""
    ready = threading.Event()
    address: list[HostPort] = []
    stop: list[asyncio.Event] = []

    async def dump(request: web.Request) -> web.Response:
        return web.Response(text=text)

    async def serve() -> None:
        app = web.Application()
        app.router.add_get("/log/print/{file}", dump)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        address.append(HostPort(host="127.0.0.1", port=server.sockets[0].getsockname()[1]))
        stop.append(asyncio.Event())
        ready.set()
        await stop[0].wait()
        await runner.cleanup()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    try:
        assert ready.wait(FAILOVER_DEADLINE_S)
        yield address[0]
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(FAILOVER_DEADLINE_S)
        loop.close()


def test_check_logs_on_a_real_cluster(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(config=cluster.config) as kv:
        for i in range(20):
            kv.put(f"k{i}", f"v{i}")

    def applied_everywhere() -> bool:
        indexes = {cluster.status(k)["applied_index"] for k in cluster.ids}
        return len(indexes) == 1

    poll("every node applied everything", applied_everywhere, FAILOVER_DEADLINE_S)
    code, out, err = run_main(capsys, pyxos_main, "check", "logs", "--config", str(cluster.config))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "OK: every slot agrees on a majority (2 of 3 members)"

    # Node 3's log, doctored at one slot and cut short: served by a fake node 3.
    status, body = http_get(cluster.http[3], "/log/print/dump")
    assert status == 200
    lines = body.decode().splitlines()
    victim = next(i for i, line in enumerate(lines) if "put k5=" in line)
    slot = lines[victim].split()[0]
    lines[victim] = f"{slot} 1.1 put k5='forged'"
    with fake_log_node("\n".join(lines) + "\n") as fake:
        doctored = cluster.root / "doctored.toml"
        doctored.write_text(
            cluster_toml(
                cluster="test-cluster",
                nodes=[
                    (k, cluster.peer[k], fake if k == 3 else cluster.http[k], cluster.client[k])
                    for k in cluster.ids
                ],
            )
        )
        code, out, _ = run_main(capsys, pyxos_main, "check", "logs", "--config", str(doctored))
    assert code == 1
    assert f"slot {slot}: mismatch: nodes 1, 2: " in out
    assert "node 3: 1.1 put k5='forged'" in out
    assert out.splitlines()[-1].startswith("FAILED: 1 slots differ between nodes")

    # A node that does not answer is named; the other two still make every majority.
    down = cluster.root / "down.toml"
    unreachable = HostPort(host="127.0.0.1", port=1)
    down.write_text(
        cluster_toml(
            cluster="test-cluster",
            nodes=[
                (k, cluster.peer[k], unreachable if k == 3 else cluster.http[k], cluster.client[k])
                for k in cluster.ids
            ],
        )
    )
    code, out, _ = run_main(capsys, pyxos_main, "check", "logs", "--config", str(down))
    assert code == 0
    assert out.startswith("node 3 at 127.0.0.1:1: not compared: ")
    assert "compared slots 1.." in out and "of nodes 1, 2\n" in out
    code, out, _ = run_main(
        capsys, pyxos_main, "check", "logs", "--config", str(down), "-o", "json"
    )
    report = json.loads(out)
    assert code == 0 and (report["ok"], report["nodes"], report["problems"]) == (True, [1, 2], [])
    assert list(report["not_compared"]) == ["3"] and report["last"] >= 20
