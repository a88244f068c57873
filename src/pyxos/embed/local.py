"""Helpers for running embedded nodes on one machine: a cluster file on free loopback ports,
and the built-in machines as a set to register next to your own."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pyxos.machines.base import StateMachine
from pyxos.machines.catalog import build_machines
from pyxos.runtime.config import ClusterConfig, HostPort, cluster_toml, parse_toml
from pyxos.runtime.ports import free_ports


def builtin_machines() -> dict[str, StateMachine]:
    """A fresh set of the built-in machines, by the names `pyxos node` gives them: "kv",
    "locks" (whose fencing guards that "kv"), "ask", "queue" and "map"."""
    return dict(build_machines().machines)


def local_cluster_toml(
    size: int,
    data_dir: Path | str,
    *,
    cluster: str = "embedded",
    timers: Mapping[str, int] | None = None,
) -> str:
    """The text of a cluster file for `size` nodes on 127.0.0.1, on ports free right now, with
    node k's data in `<data_dir>/node-k`."""
    if size < 1:
        raise ValueError("a cluster has at least one node")
    addresses = [HostPort(host="127.0.0.1", port=p) for p in free_ports(3 * size)]
    nodes = [
        (k, addresses[3 * k - 3], addresses[3 * k - 2], addresses[3 * k - 1])
        for k in range(1, size + 1)
    ]
    return cluster_toml(cluster=cluster, nodes=nodes, data_dir=str(data_dir), timers=timers)


def local_config(
    size: int,
    data_dir: Path | str,
    *,
    cluster: str = "embedded",
    timers: Mapping[str, int] | None = None,
) -> ClusterConfig:
    """`local_cluster_toml`, parsed: give every node of one cluster the same config."""
    return parse_toml(
        local_cluster_toml(size, data_dir, cluster=cluster, timers=timers), source="<local>"
    )
