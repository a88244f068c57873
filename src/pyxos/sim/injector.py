"""Firing faults: the seed's planned faults, and the heal at the end of the fault phase.

The plan (`pyxos.sim.faults`) fixes when faults happen; some of its entries pick their victims
only when they fire, from the state of the cluster at that moment: a `CrashPick` crashes one
node, a majority or all of them, preferring the leader or a node with a sync in flight (and
waits briefly for one), a `RestartPick` restarts the nodes of its crash episode, and a
`PartitionPick` draws its groups, usually with the leader on the losing side. A restarting node
may find one of its synced records damaged (at most `options.corruptions` times per run, never
while a node is being rebuilt); it then refuses to start (`pyxos.sim.cluster`) and a
`Rebuild` fires later. Every draw comes from the run's fault generator.
"""

from __future__ import annotations

from dataclasses import replace
from random import Random
from typing import assert_never

from pyxos.faults import (
    Crash,
    Fault,
    Heal,
    Partition,
    Rebuild,
    Restart,
    SetDelay,
    SetDrop,
    SetDuplicate,
    describe_fault,
)
from pyxos.sim.checkers import MonotoneBallots
from pyxos.sim.cluster import Cluster
from pyxos.sim.events import FAULT, EventQueue
from pyxos.sim.faults import (
    MID_SYNC_RETRY_US,
    CrashPick,
    PartitionPick,
    PlannedFault,
    RestartPick,
    Zones,
    partition_shape,
    plan_faults,
    zone_victims,
)
from pyxos.sim.host import Host
from pyxos.sim.network import SimNetwork
from pyxos.sim.options import SimOptions
from pyxos.sim.transcript import Transcript


class FaultInjector:
    """Schedules the seed's fault plan and fires faults into the cluster and the network.

    `fault_events` counts the faults fired.
    """

    __slots__ = (
        "_ballots",
        "_cluster",
        "_corruptions_left",
        "_crashed",
        "_members",
        "_network",
        "_options",
        "_plan_rng",
        "_queue",
        "_rng",
        "_transcript",
        "_zones",
        "fault_events",
    )

    def __init__(
        self,
        cluster: Cluster,
        *,
        options: SimOptions,
        members: tuple[int, ...],
        queue: EventQueue,
        network: SimNetwork,
        transcript: Transcript | None,
        ballots: MonotoneBallots,
        plan_rng: Random,
        fault_rng: Random,
        zones: Zones = (),
    ) -> None:
        self._cluster = cluster
        self._zones = zones  # with a grid of quorums: zone faults too
        self._options = options
        self._members = members
        self._queue = queue
        self._network = network
        self._transcript = transcript
        self._ballots = ballots
        self._plan_rng = plan_rng  # draws the plan, once
        self._rng = fault_rng  # draws victims, partition groups and corruptions as they fire
        self._crashed: dict[int, list[int]] = {}  # crash episode -> nodes
        self._corruptions_left = options.corruptions
        self.fault_events = 0

    def start(self) -> None:
        """Draw the seed's fault plan and schedule it."""
        for planned in plan_faults(self._plan_rng, self._options, self._members, self._zones):
            self._queue.push(planned.at_us, FAULT, 0, planned)

    def schedule(self, at_us: int, fault: Fault) -> None:
        """Fire `fault` at `at_us`, besides the plan."""
        self._queue.push(at_us, FAULT, 0, PlannedFault(at_us=at_us, action=fault))

    # ---- planned faults ---------------------------------------------------------------------
    def on_planned(self, planned: PlannedFault) -> None:
        """Fire a planned fault, picking its victims now if the plan left them open."""
        action = planned.action
        match action:
            case CrashPick():
                self._on_crash_pick(action)
            case RestartPick(episode=episode):
                for node_id in self._crashed.pop(episode, ()):
                    self.fire(Restart(node=node_id))
            case PartitionPick(kind=kind, target_leader=target_leader):
                leader = self._cluster.leader() if target_leader else None
                self.fire(partition_shape(self._rng, kind, self._members, leader, self._zones))
            case _:
                self.fire(action)

    def _on_crash_pick(self, pick: CrashPick) -> None:
        up = [h for h in self._cluster.hosts.values() if h.up]
        if not up:
            return
        rng = self._rng
        leaders = [h for h in up if h.node is not None and h.node.is_leader]
        if pick.mid_sync and pick.tries_left > 0 and not any(h.disk.unsynced_count for h in up):
            retry = replace(pick, tries_left=pick.tries_left - 1)
            at_us = self._queue.now_us + MID_SYNC_RETRY_US
            self._queue.push(at_us, FAULT, 0, PlannedFault(at_us=at_us, action=retry))
            return
        if pick.scope == "all":
            victims = up
        elif pick.scope == "zone":
            prefer = leaders[0].node_id if pick.prefer_leader and leaders else None
            lost = set(zone_victims(rng, self._zones, prefer))
            victims = [h for h in up if h.node_id in lost]
        else:
            count = 1 if pick.scope == "one" else len(self._members) // 2 + 1
            # The first victim: a syncing node if asked, else the leader if asked, else anyone.
            pool = up
            if pick.mid_sync and any(h.disk.unsynced_count for h in up):
                pool = [h for h in up if h.disk.unsynced_count]
            elif pick.prefer_leader and leaders:
                pool = leaders
            first = pool[int(rng.random() * len(pool))]
            others = [h for h in up if h is not first]
            rng.shuffle(others)
            victims = [first, *others[: count - 1]]
        crashed = sorted(h.node_id for h in victims)
        self._crashed[pick.episode] = crashed
        for node_id in crashed:
            self.fire(Crash(node=node_id))

    def _maybe_corrupt(self, host: Host) -> None:
        """Damage one synced record of a restarting node (one node per run, never while another
        is rebuilding: two rejoining replicas would wait for each other)."""
        if self._corruptions_left <= 0:
            return
        if any(h.rejoining or h.rebuild_pending for h in self._cluster.hosts.values()):
            return
        if host.disk.corrupt(self._rng):
            self._corruptions_left -= 1

    # ---- firing -----------------------------------------------------------------------------
    def fire(self, fault: Fault) -> None:
        """Apply one fault now (a no-op for a crash of a down node or a restart of an up one)."""
        cluster = self._cluster
        match fault:
            case Crash(node=node_id):
                host = cluster.hosts[node_id]
                if not host.up:
                    return
                cluster.crash(host)
            case Restart(node=node_id):
                host = cluster.hosts[node_id]
                if host.up:
                    return
                host.restarts += 1
                self._maybe_corrupt(host)
                cluster.boot(host)
            case Rebuild(node=node_id):
                host = cluster.hosts[node_id]
                if host.up:
                    return
                host.disk.wipe()
                host.rebuild_pending = False
                host.rejoining = True
                host.restarts += 1
                self._ballots.on_rebuild(node_id)
                cluster.boot(host)
            case Partition() | Heal() | SetDrop() | SetDuplicate() | SetDelay():
                self._network.apply(fault)
            case _:
                assert_never(fault)
        self.fault_events += 1
        if self._transcript is not None:
            self._transcript.add(self._queue.now_us, f"fault {describe_fault(fault)}")

    def heal_all(self) -> None:
        """End the fault phase: no partition, loss or duplication, base delays, every node up."""
        options = self._options
        self.fire(Heal())
        self.fire(SetDrop(p=0.0))
        self.fire(SetDuplicate(p=0.0))
        self.fire(SetDelay(delay_us_min=options.delay_us_min, delay_us_max=options.delay_us_max))
        for node_id in self._members:
            if not self._cluster.hosts[node_id].up:
                self.fire(Restart(node=node_id))
        self._crashed.clear()
