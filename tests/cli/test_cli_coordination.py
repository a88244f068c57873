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
    assert code == 0
    words = out.split()
    assert words[:3] == ["OK", "lock=L", "holder=a"] and words[4] == "expires_in=30s"
    token = words[3].removeprefix("token=")
    assert token.isdigit()
    code, out, err = pyxos(cluster, capsys, "lock", "get", "L", "--owner", "b")
    assert (code, out) == (1, "") and "held by 'a'" in err
    # In plain words: the holder, its token, and when the lease ends on this machine's clock.
    assert re.search(rf"with token {token} \(it expires in [\d.]+ s, at \d\d:\d\d:\d\d\)", err)
    code, out, err = pyxos(cluster, capsys, "lock", "get", "L", "--owner", "b", "-o", "json")
    assert code == 1 and json.loads(out)["holder"] == "a"  # the lock as it is
    code, out, _ = pyxos(cluster, capsys, "lock", "whose", "L")
    assert code == 0 and out.startswith(f"lock=L holder=a token={token} expires_in=")
    code, out, _ = pyxos(cluster, capsys, "lock", "whose", "L", "-o", "json")
    lease = json.loads(out)
    assert (lease["holder"], lease["token"], lease["waiting"]) == ("a", int(token), 0)
    code, out, _ = pyxos(cluster, capsys, "lock", "refresh", "L", "--owner", "a", "--token", token)
    assert code == 0 and out.startswith(f"OK lock=L holder=a token={token} ")
    code, _, err = pyxos(cluster, capsys, "lock", "release", "L", "--owner", "b", "--token", token)
    assert code == 1 and "not the holder of lock 'L'" in err and "None" not in err
    # Another process waits (or, if it is slow to start, finds the lock free); this one
    # releases; the waiter is granted.
    waiter = subprocess.Popen(
        [
            *(sys.executable, "-m", "pyxos", "lock", "wait", "L", "--owner", "b", "-o", "json"),
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
    assert pyxos(cluster, capsys, "lock", "whose", "never-taken")[:2] == (
        0,
        "lock=never-taken free\n",
    )


def test_ask_queue_and_map_print_as_kv_does(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pyxos(cluster, capsys, "ask", "k")[0] == 1
    assert pyxos(cluster, capsys, "ask", "k", "one")[:2] == (0, "one\n")
    assert pyxos(cluster, capsys, "ask", "k", "two")[:2] == (0, "one\n")
    assert json.loads(pyxos(cluster, capsys, "ask", "k", "-o", "json")[1]) == {
        "key": "k",
        "value": "one",
    }
    assert pyxos(cluster, capsys, "queue", "pop", "q") == (
        1,
        "",
        "pyxos queue pop: queue 'q' is empty\n",
    )
    assert pyxos(cluster, capsys, "queue", "push", "q", "x")[:2] == (0, "OK length=1\n")
    code, out, _ = pyxos(cluster, capsys, "queue", "push", "q", "y", "-o", "json")
    assert json.loads(out) == {"ok": True, "queue": "q", "length": 2}
    assert pyxos(cluster, capsys, "queue", "peek", "q")[:2] == (0, "x\n")
    assert pyxos(cluster, capsys, "queue", "pop", "q")[:2] == (0, "x\n")
    assert json.loads(pyxos(cluster, capsys, "queue", "pop", "q", "-o", "json")[1]) == {
        "queue": "q",
        "item": "y",
    }
    # The map: an absent entry, a write and a delete say what `pyxos kv` says.
    assert pyxos(cluster, capsys, "map", "get", "m") == (
        1,
        "",
        "pyxos map get: key 'm' not found\n",
    )
    assert pyxos(cluster, capsys, "map", "put", "m", "v")[:2] == (0, "OK version=1\n")
    code, _, err = pyxos(cluster, capsys, "map", "update", "m", "w", "--version", "0")
    assert code == 1 and "version 1" in err
    assert pyxos(cluster, capsys, "map", "update", "m", "w", "--version", "1")[:2] == (
        0,
        "OK version=2\n",
    )
    assert pyxos(cluster, capsys, "map", "get", "m")[:2] == (0, "w\n")
    assert json.loads(pyxos(cluster, capsys, "map", "get", "m", "-o", "json")[1]) == {
        "key": "m",
        "value": "w",
        "version": 2,
    }
    assert pyxos(cluster, capsys, "map", "del", "m", "--version", "2")[:2] == (0, "OK\n")
    assert pyxos(cluster, capsys, "kv", "put", "gone", "1")[:2] == (0, "OK\n")
    assert pyxos(cluster, capsys, "kv", "del", "gone")[:2] == (0, "OK\n")
    assert pyxos(cluster, capsys, "map", "del", "m") == (
        1,
        "",
        "pyxos map del: key 'm' not found\n",
    )
    assert pyxos(cluster, capsys, "kv", "del", "gone") == (
        1,
        "",
        "pyxos kv del: key 'gone' not found\n",
    )


def test_queue_and_map_help_describe_every_argument_and_the_exit_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command, ops in (
        ("queue", ("push", "peek", "pop")),
        ("map", ("get", "put", "update", "del")),
    ):
        for op in (None, *ops):
            argv = [command, "--help"] if op is None else [command, op, "--help"]
            with pytest.raises(SystemExit) as info:
                main(argv)
            assert info.value.code == 0
            text = " ".join(capsys.readouterr().out.split())
            assert "exit status: 0 done; 1 absent" in text, argv
            if op is None:
                continue
            # Every positional argument has a description; the queue and the map take what
            # they work on first, the same way.
            first = "NAME the queue's name" if command == "queue" else "KEY the entry's key"
            assert first in text, argv
            assert f"usage: pyxos {command} {op} [-h]" in text
            assert "-o {plain,json}, --output {plain,json}" in text


def test_fenced_kv_writes(cluster: ClientCluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert pyxos(cluster, capsys, "lock", "get", "F", "--owner", "a", "--ttl", "30")[0] == 0
    token = str(json.loads(pyxos(cluster, capsys, "lock", "whose", "F", "-o", "json")[1])["token"])
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
