"""A node's place in the simulated cluster, and what the simulator needs from a node.

`Host` outlives the node's crashes: it keeps the node's disk (whose synced records feed the next
incarnation) and the incarnation number that lets the runner ignore ticks, turns and syncs
scheduled for an incarnation that has crashed since. Each incarnation gets a fresh inbox and a
fresh effect executor (its gate and group-commit writer are memory, lost in a crash).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from random import Random
from typing import Protocol

from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot
from pyxos.core.io import DurableRecord
from pyxos.core.protocol import ProtocolSpec
from pyxos.core.snapshot import Snapshot
from pyxos.exec.executor import EffectExecutor
from pyxos.machines.base import StateMachine
from pyxos.node.io import NodeEffect, NodeInput
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
        durable: Sequence[DurableRecord],
        snapshot: Snapshot | None,
        *,
        rejoining: bool = False,
    ) -> SimNode: ...


def node_factory(protocol: ProtocolSpec) -> NodeFactory:
    """A factory of real nodes (`pyxos.node.node.Node`) running `protocol`."""

    def build(
        config: ReplicaConfig,
        machine: StateMachine,
        rng: Random,
        durable: Sequence[DurableRecord],
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
            protocol=protocol,
        )

    return build


class Host:
    """A node's place in the cluster: survives its crashes (the disk does too)."""

    __slots__ = (
        "busy_until_us",
        "config",
        "disk",
        "executor",
        "inbox",
        "incarnation",
        "node",
        "node_id",
        "rebuild_pending",
        "rejoining",
        "restarts",
        "turn_pending",
        "up",
    )

    def __init__(self, config: ReplicaConfig, disk: SimDisk) -> None:
        self.node_id = config.node_id
        self.config = config
        self.disk = disk
        self.node: SimNode | None = None
        self.executor: EffectExecutor | None = None
        self.inbox: deque[NodeInput] = deque()
        self.turn_pending = False  # a TURN event is scheduled for this incarnation
        self.busy_until_us = 0  # the node is stepping its last turn until then
        self.incarnation = 0
        self.restarts = 0
        self.up = False
        self.rebuild_pending = False  # refused to start on a corrupt log; a Rebuild is scheduled
        self.rejoining = False  # rebuilt empty and not yet voting (survives its crashes)

    @property
    def quiet(self) -> bool:
        """No input waits to be stepped and no output waits for the disk."""
        executor = self.executor
        return not self.inbox and (executor is None or not len(executor.gate))
