"""pyxos: three `pyxos node` processes on loopback, as `pyxos up` starts them (fsync is
always on), driven through the fast client protocol and through HTTP."""

from __future__ import annotations

import json
import secrets
import sys
import urllib.error
import urllib.request
from pathlib import Path

from pyxos.bench.fast import FastTransport
from pyxos.bench.http import HttpTransport
from pyxos.bench.peers.members import Members
from pyxos.bench.ready import wait_for_leader
from pyxos.bench.transport import Transport
from pyxos.runtime.config import HostPort, cluster_toml
from pyxos.runtime.ports import free_ports

NODES = 3
LEADER_DEADLINE_S = 30.0


class PyxosCluster:
    system: str = "pyxos"
    protocols: tuple[str, ...] = ("fast", "http")

    def __init__(self, members: Members, http: list[str], fast: list[str]) -> None:
        self._members = members
        self.http = http
        self.fast = fast

    @classmethod
    def start(cls, directory: Path) -> PyxosCluster:
        """Start the nodes in `directory`; return once every node names the same leader.
        Raises `StartFailedError` (the members are stopped) if it does not come up."""
        ports = free_ports(3 * NODES)
        cluster = f"bench-{secrets.token_hex(4)}"
        addresses = [
            tuple(HostPort(host="127.0.0.1", port=ports[k + i * NODES]) for i in range(3))
            for k in range(NODES)
        ]
        path = directory / "cluster.toml"
        path.write_text(
            cluster_toml(
                cluster=cluster,
                nodes=[
                    (k + 1, peer, http, client) for k, (peer, http, client) in enumerate(addresses)
                ],
            )
        )
        members = Members(directory)
        http = [str(a[1]) for a in addresses]
        fast = [str(a[2]) for a in addresses]
        try:
            for k in range(1, NODES + 1):
                members.start(
                    f"pyxos-{k}",
                    [
                        sys.executable,
                        "-m",
                        "pyxos.cli.node_cmd",
                        *("--config", str(path), "--id", str(k), "--log-level", "warning"),
                    ],
                )
            members.wait_until(
                lambda: all(_healthy(e, cluster) for e in http), "pyxos nodes healthy"
            )
            wait_for_leader(http, LEADER_DEADLINE_S)
        except BaseException:
            members.stop()
            raise
        return cls(members, http, fast)

    @property
    def pids(self) -> list[int]:
        return self._members.pids

    def prepare(self, protocol: str) -> None:
        if protocol not in self.protocols:
            raise ValueError(f"{self.system} speaks {', '.join(self.protocols)}, not {protocol}")

    def transport(self, protocol: str, *, workers: int, timeout_s: float) -> Transport:
        if protocol == "http":
            return HttpTransport(
                self.http, workers=workers, timeout_s=timeout_s, consistency="linearizable"
            )
        if protocol == "fast":
            return FastTransport(
                self.fast,
                workers=workers,
                connections=1,
                timeout_s=timeout_s,
                consistency="linearizable",
            )
        raise ValueError(f"pyxos speaks {', '.join(self.protocols)}, not {protocol}")

    def stop(self) -> None:
        self._members.stop()


def _healthy(http: str, cluster: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{http}/healthz", timeout=1) as answer:
            body = json.loads(answer.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return isinstance(body, dict) and body.get("cluster") == cluster
