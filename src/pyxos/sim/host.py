"""A node's place in the simulated cluster, and what the simulator needs from a node.

`Host` outlives the node's crashes: it keeps the node's disk (whose synced records feed the next
incarnation), the gate of effects waiting for syncs, and the incarnation number that lets the
runner ignore ticks and syncs scheduled for an incarnation that has crashed since.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import Protocol

from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot
from pyxos.core.records import Record, Snapshot
from pyxos.machines.base import StateMachine
from pyxos.node.io import NodeEffect, NodeInput, Reply, Send
from pyxos.sim.barrier import EffectGate
from pyxos.sim.disk import SimDisk


class SimNode(Protocol):
    """What the simulator needs from a node (`pyxos.node.node.Node` provides it)."""

    @property
    def node_id(self) -> int: ...
    @property
    def promised(self) -> Ballot: ...
    @property
    def applied_upto(self) -> int: ...
    @property
    def is_leader(self) -> bool: ...
    def step(self, inp: NodeInput) -> list[NodeEffect]: ...


class NodeFactory(Protocol):
    """Builds a node from its disk; `rejoining` is passed (True) only for a rebuilt node."""

    def __call__(
        self,
        config: ReplicaConfig,
        machine: StateMachine,
        rng: Random,
        durable: Sequence[Record],
        snapshot: Snapshot | None,
        *,
        rejoining: bool = False,
    ) -> SimNode: ...


def real_node_factory(
    config: ReplicaConfig,
    machine: StateMachine,
    rng: Random,
    durable: Sequence[Record],
    snapshot: Snapshot | None,
    *,
    rejoining: bool = False,
) -> SimNode:
    from pyxos.node.node import Node

    return Node(
        config=config,
        machine=machine,
        rng=rng,
        durable=durable,
        snapshot=snapshot,
        rejoining=rejoining,
    )


class Host:
    """A node's place in the cluster: survives its crashes (the disk does too)."""

    __slots__ = (
        "config",
        "disk",
        "gate",
        "incarnation",
        "node",
        "node_id",
        "rebuild_pending",
        "rejoining",
        "restarts",
        "up",
    )

    def __init__(self, config: ReplicaConfig, disk: SimDisk) -> None:
        self.node_id = config.node_id
        self.config = config
        self.disk = disk
        self.gate: EffectGate[Send | Reply] = EffectGate()
        self.node: SimNode | None = None
        self.incarnation = 0
        self.restarts = 0
        self.up = False
        self.rebuild_pending = False  # refused to start on a corrupt log; a Rebuild is scheduled
        self.rejoining = False  # rebuilt empty and not yet voting (survives its crashes)
