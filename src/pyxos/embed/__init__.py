"""Embedding pyxos: a node inside your own program, replicating your own state machines.

    import pyxos

    class Counter(pyxos.Machine[int, int]):   # commands are ints, results ints
        ...

    async with pyxos.Node("cluster.toml", 1, {"counter": Counter()}) as node:
        total = await node.propose(5)

See docs/embedding.md. `Node` is asyncio-native; `SyncNode` wraps it for threaded code.
"""

from __future__ import annotations

from pyxos.embed.errors import (
    CommandFailed,
    NoQuorum,
    PyxosError,
    RequestId,
    Timeout,
    Unavailable,
)
from pyxos.embed.events import AppliedCommand, RoleChange, Subscription
from pyxos.embed.local import builtin_machines, local_cluster_toml, local_config
from pyxos.embed.machine import Machine
from pyxos.embed.node import Consistency, MachineLike, Node
from pyxos.embed.replicated import Call, Replicated, replicated
from pyxos.embed.sync import SyncNode
from pyxos.machines.base import ApplyContext
from pyxos.runtime.config import ClusterConfig, load_config

__all__ = [
    "AppliedCommand",
    "ApplyContext",
    "Call",
    "ClusterConfig",
    "CommandFailed",
    "Consistency",
    "Machine",
    "MachineLike",
    "NoQuorum",
    "Node",
    "PyxosError",
    "Replicated",
    "RequestId",
    "RoleChange",
    "Subscription",
    "SyncNode",
    "Timeout",
    "Unavailable",
    "builtin_machines",
    "load_config",
    "local_cluster_toml",
    "local_config",
    "replicated",
]
