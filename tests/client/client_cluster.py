"""A real cluster for the client and CLI tests: the runtime tests' `Cluster` (node processes,
polling with deadlines, cleanup), with a client port of its own for every node."""

from __future__ import annotations

import sys
from pathlib import Path

# The runtime tests' cluster helper lives in their directory; pytest puts a test directory on
# sys.path only while it collects that directory, so add it here explicitly.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runtime"))

from test_runtime_cluster import (
    FAILOVER_DEADLINE_S,
    Cluster,
    poll,
)

from pyxos.runtime.config import HostPort, cluster_toml
from pyxos.runtime.ports import free_ports

__all__ = ["FAILOVER_DEADLINE_S", "ClientCluster", "free_ports", "poll"]


class ClientCluster(Cluster):
    """`Cluster` whose cluster file names a free client port for every node."""

    def __init__(
        self,
        root: Path,
        size: int = 3,
        timers: dict[str, int] | None = None,
        *,
        fault_injection: bool = False,
    ) -> None:
        super().__init__(root, size, timers)
        self._timers = timers
        self._fault_injection = fault_injection
        self.client: dict[int, HostPort] = {}
        self._choose_ports()

    def _choose_ports(self) -> None:
        ports = iter(free_ports(3 * len(self.ids)))
        self.http = {k: HostPort(host="127.0.0.1", port=next(ports)) for k in self.ids}
        self.peer = {k: HostPort(host="127.0.0.1", port=next(ports)) for k in self.ids}
        self.client = {k: HostPort(host="127.0.0.1", port=next(ports)) for k in self.ids}
        self.config.write_text(
            cluster_toml(
                cluster="test-cluster",
                nodes=[(k, self.peer[k], self.http[k], self.client[k]) for k in self.ids],
                data_dir=".",
                timers=self._timers,
                fault_injection=self._fault_injection,
            )
        )

    def start_all(self) -> None:
        """Start every node; if one could not listen (a port found free was taken by another
        process before the node bound it), start again on other ports, a few times."""
        for attempt in range(3):
            try:
                super().start_all()
                return
            except AssertionError:
                if attempt == 2 or not any("cannot listen" in self.log(k) for k in self.ids):
                    raise
            self.close()
            for k in self.ids:
                (self.root / f"node-{k}.log").rename(self.root / f"node-{k}.log.{attempt}")
            self._choose_ports()

    def settled(self) -> int:
        """Wait until every running node names the same leader; that leader."""

        def one_leader_known_by_all() -> int | None:
            running = [k for k in self.ids if self.procs[k].poll() is None]
            leaders = {self.status(k)["leader"] for k in running}
            leader = leaders.pop() if len(leaders) == 1 else None
            return leader if isinstance(leader, int) else None

        return poll("every node knows the leader", one_leader_known_by_all, FAILOVER_DEADLINE_S)

    def endpoints(self, *ids: int) -> str:
        """Client addresses of nodes `ids` (all by default), comma-separated."""
        return ",".join(str(self.client[k]) for k in ids or self.ids)
