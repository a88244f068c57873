"""`pyxos lock`, `pyxos ask`, `pyxos queue` and `pyxos map` against a real 3-node cluster:
output, exit statuses, and a wait granted by a release from another process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from cli_cluster import ClientCluster

from pyxos.cli.main import main


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientCluster]:
    c = ClientCluster(tmp_path_factory.mktemp("cli-coordination"))
    try:
        c.start_all()
        c.settled()
        yield c
    finally:
        c.close()


def pyxos(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    code = main([*argv, "--config", str(cluster.config)])
    out, err = capsys.readouterr()
    return code, out, err


def test_lock_commands(cluster: ClientCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = pyxos(cluster, capsys, "lock", "get", "L", "--owner", "a", "--ttl", "30")
    lease = json.loads(out)
    assert code == 0 and lease["holder"] == "a"
    token = str(lease["token"])
    code, out, err = pyxos(cluster, capsys, "lock", "get", "L", "--owner", "b")
    assert code == 1 and "held by 'a'" in err and json.loads(out)["holder"] == "a"
    # In plain words: the holder, its token, and when the lease ends on this machine's clock.
    assert re.search(rf"with token {token} \(it expires in [\d.]+ s, at \d\d:\d\d:\d\d\)", err)
    code, out, _ = pyxos(cluster, capsys, "lock", "whose", "L")
    assert code == 0 and json.loads(out)["token"] == lease["token"]
    code, out, _ = pyxos(cluster, capsys, "lock", "refresh", "L", "--owner", "a", "--token", token)
    assert code == 0
    code, _, err = pyxos(cluster, capsys, "lock", "release", "L", "--owner", "b", "--token", token)
    assert code == 1 and "not the holder of lock 'L'" in err and "None" not in err
    # Another process waits (or, if it is slow to start, finds the lock free); this one
    # releases; the waiter is granted.
    waiter = subprocess.Popen(
        [
            *(sys.executable, "-m", "pyxos.cli.main", "lock", "wait", "L", "--owner", "b"),
            *("--wait-timeout", "20", "--config", str(cluster.config)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        code, _, _ = pyxos(
            cluster, capsys, "lock", "release", "L", "--owner", "a", "--token", token
        )
        assert code == 0
        out_b, err_b = waiter.communicate(timeout=30)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert waiter.returncode == 0, err_b
    assert json.loads(out_b)["holder"] == "b"
    code, _, err = pyxos(
        cluster, capsys, "lock", "wait", "L", "--owner", "c", "--wait-timeout", "0.05"
    )
    assert code == 1 and "held by 'b'" in err


def test_ask_queue_and_map(cluster: ClientCluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert pyxos(cluster, capsys, "ask", "k")[0] == 1
    assert pyxos(cluster, capsys, "ask", "k", "one")[:2] == (0, "one\n")
    assert pyxos(cluster, capsys, "ask", "k", "two")[:2] == (0, "one\n")
    assert pyxos(cluster, capsys, "queue", "pop", "q")[0] == 1
    assert pyxos(cluster, capsys, "queue", "push", "q", "x")[:2] == (0, "1\n")
    assert pyxos(cluster, capsys, "queue", "peek", "q")[:2] == (0, "x\n")
    assert pyxos(cluster, capsys, "queue", "pop", "q")[:2] == (0, "x\n")
    assert pyxos(cluster, capsys, "map", "get", "m")[0] == 1
    assert pyxos(cluster, capsys, "map", "put", "m", "v")[:2] == (0, "1\n")
    code, _, err = pyxos(cluster, capsys, "map", "update", "m", "w", "--version", "0")
    assert code == 1 and "version 1" in err
    assert pyxos(cluster, capsys, "map", "update", "m", "w", "--version", "1")[:2] == (0, "2\n")
    assert pyxos(cluster, capsys, "map", "get", "m")[:2] == (0, "2\tw\n")
    assert pyxos(cluster, capsys, "map", "del", "m", "--version", "2")[0] == 0
    assert pyxos(cluster, capsys, "map", "del", "m")[0] == 1


def test_fenced_kv_writes(cluster: ClientCluster, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = pyxos(cluster, capsys, "lock", "get", "F", "--owner", "a", "--ttl", "30")
    token = str(json.loads(out)["token"])
    fence = ("--lock", "F", "--token", token)
    assert pyxos(cluster, capsys, "kv", "put", "fenced", "1", *fence)[:2] == (0, "OK\n")
    other = str(int(token) + 1000)  # not the current grant
    code, _, err = pyxos(
        cluster, capsys, "kv", "put", "fenced", "2", "--lock", "F", "--token", other
    )
    assert code == 1 and f"token {other} is stale" in err
    code, _, err = pyxos(cluster, capsys, "kv", "del", "fenced", "--lock", "F")
    assert code == 2 and "needs both --lock and --token" in err
    assert pyxos(cluster, capsys, "kv", "get", "fenced")[:2] == (0, "1\n")
    assert pyxos(cluster, capsys, "kv", "del", "fenced", *fence)[:2] == (0, "OK\n")
