"""With a majority down, every way in says there is no quorum and names the unreachable nodes:
HTTP (503 `no_quorum` within the node's deadline, for a read too), the Python client, the
`pyxos kv` command and `pyxos status`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from client_cluster import ClientCluster

from pyxos.cli import kv_cmd, status_cmd
from pyxos.client import Client, NoQuorum
from pyxos.runtime.config import Limits

REQUEST_TIMEOUT_S = Limits().request_timeout_ms / 1000


def test_a_majority_down_is_named_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = ClientCluster(tmp_path)
    try:
        cluster.start_all()
        leader = cluster.settled()
        with Client(cluster.endpoints()) as kv:
            kv.put("k", "before")
        survivor = next(k for k in cluster.ids if k != leader)
        down = sorted(k for k in cluster.ids if k != survivor)
        for k in down:
            cluster.kill(k)
        named = f"nodes {down[0]} and {down[1]} are unreachable"

        # HTTP: a read is answered 503 no_quorum within the node's deadline, not a timeout.
        started = time.monotonic()
        status, body = cluster.request(survivor, "GET", "/v1/kv/k")
        assert time.monotonic() - started < REQUEST_TIMEOUT_S
        assert (status, body["code"], body["unreachable"]) == (503, "no_quorum", down)
        assert body["message"] == f"no quorum: {named}"  # a read: no "outcome is unknown"
        status, body = cluster.request(survivor, "PUT", "/v1/kv/k", b"after")
        assert (status, body["code"]) == (503, "no_quorum")
        assert body["message"].startswith(f"no quorum: {named}; the outcome is unknown")

        # The Python client: the same, with the nodes as `unreachable`.
        with Client(cluster.endpoints(), timeout_s=2.0) as kv:  # it tries them all
            with pytest.raises(NoQuorum) as read:
                kv.get("k")
            assert read.value.unreachable == tuple(down)
            assert str(read.value) == f"node {survivor}: no quorum: {named}"
            with pytest.raises(NoQuorum, match="the outcome is unknown"):
                kv.put("k", "after")
            assert kv.get("k", consistency="stale") == b"before"  # local reads still answer

        # The command line: one line that names the cause, and the status table says it too.
        # A read ends as soon as no node it can reach can serve it, well before --timeout.
        where = ("--endpoints", cluster.endpoints(survivor), "--timeout", "30")
        started = time.monotonic()
        assert kv_cmd.main(["get", "k", *where]) == kv_cmd.EXIT_UNAVAILABLE
        assert time.monotonic() - started < REQUEST_TIMEOUT_S
        assert (
            capsys.readouterr().err == f"pyxos kv get: error: node {survivor}: no quorum: {named}\n"
        )
        assert status_cmd.main(["--config", str(cluster.config)]) == kv_cmd.EXIT_UNAVAILABLE
        lines = capsys.readouterr().out.splitlines()
        assert lines[-1] == (
            f"no quorum: nodes {down[0]} and {down[1]} are down or unreachable; reads and "
            "writes fail until enough of them are back"
        )
    finally:
        cluster.close()
