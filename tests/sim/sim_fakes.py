"""Fake nodes for simulator tests, and the factory adapter the simulator expects.

A fake implements just what the simulator needs of a node (`pyxos.sim.host.SimNode`); wrap its
constructor with `factory(...)` to pass it as `Simulation(node_factory=...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from random import Random

from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.records import Record
from pyxos.core.snapshot import Snapshot
from pyxos.machines.base import StateMachine
from pyxos.node.io import NodeEffect, NodeInput
from pyxos.sim.host import NodeFactory, SimNode


def factory(make: Callable[[ReplicaConfig, StateMachine], SimNode]) -> NodeFactory:
    """A node factory that builds `make(config, machine)` and ignores the disk."""

    def build(
        config: ReplicaConfig,
        machine: StateMachine,
        rng: Random,
        durable: Sequence[Record],
        snapshot: Snapshot | None,
        *,
        rejoining: bool = False,
    ) -> SimNode:
        return make(config, machine)

    return build


class FakeNode:
    """Never answers anything; subclasses override `step`."""

    def __init__(self, config: ReplicaConfig, machine: StateMachine) -> None:
        self.node_id = config.node_id
        self.promised = Ballot(0, 0)
        self.applied_upto = 0
        self.is_leader = False
        self.machine = machine

    def step(self, inp: NodeInput) -> list[NodeEffect]:
        return []


mute_factory = factory(FakeNode)
