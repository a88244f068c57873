"""Node names in a cluster file with Paxi's `zone.node` ids: `/status`, the status page's
cluster view and `pyxos status` show `1.2` for node 1002, and keep the integer ids in the
JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_cluster import ClientCluster, run_main

from pyxos.cli import status_cmd

ZONE = 1


class ZonedCluster(ClientCluster):
    """Three nodes named `1.1`, `1.2`, `1.3` (ids 1001..1003); `k` still counts 1..3."""

    def _choose_ports(self) -> None:
        super()._choose_ports()
        text = self.config.read_text()
        for k in self.ids:
            text = text.replace(f"id = {k}\n", f'id = "{ZONE}.{k}"\n')
        self.config.write_text(text)

    def start(self, k: int, *extra: str) -> None:
        assert k not in self.procs or self.procs[k].poll() is not None
        command = [sys.executable, "-m", "pyxos.cli.node_cmd", "--config", str(self.config)]
        command += ["--id", f"{ZONE}.{k}", *extra]
        with open(self.root / f"node-{k}.log", "ab") as log:
            self.procs[k] = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ZonedCluster]:
    c = ZonedCluster(tmp_path)
    try:
        c.start_all()
        c.settled()
        yield c
    finally:
        c.close()


def _name(node_id: int) -> str:
    zone, node = divmod(node_id, 1000)
    return f"{zone}.{node}"


def test_status_names_zone_nodes(cluster: ZonedCluster, capsys: pytest.CaptureFixture[str]) -> None:
    leader = cluster.settled()
    status = cluster.status(2)
    assert (status["node"], status["name"]) == (1002, "1.2")  # the integer id stays
    assert status["leader"] == leader
    assert {node: entry["name"] for node, entry in status["members"].items()} == {
        "1001": "1.1",
        "1002": "1.2",
        "1003": "1.3",
    }

    # The status page's view of the cluster names the members and the leader the same way.
    with urllib.request.urlopen(f"http://{cluster.http[2]}/v1/cluster/status", timeout=10) as r:
        view = json.loads(r.read())
    assert [m["name"] for m in view["members"]] == ["1.1", "1.2", "1.3"]
    assert [m["node"] for m in view["members"]] == [1001, 1002, 1003]
    assert view["summary"].startswith(f"quorum: leader {_name(leader)}, 3 of 3 members up")

    for where in (["--config", str(cluster.config)], ["--endpoints", cluster.endpoints(2)]):
        code, out, err = run_main(capsys, status_cmd.main, *where)
        assert (code, err) == (0, "")
        rows = [line.split() for line in out.splitlines()[1:]]
        assert [row[0] for row in rows] == ["1.1", "1.2", "1.3"]
        assert {row[2] for row in rows} == {_name(leader)}
        # The leader heard a majority, so it is connected to at least one peer.
        peers = next(row[7] for row in rows if row[0] == _name(leader)).split(",")
        assert peers and set(peers) <= {"1.1", "1.2", "1.3"} - {_name(leader)}
