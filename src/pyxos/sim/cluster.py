"""The simulated cluster: hosting the nodes and executing their effects.

Theory of operation. A node's effects run in list order. `Send` and `Reply` go through the
network; `Persist` writes records to the node's disk and starts a sync, and a barrier `Persist`
holds every later output of the node until that sync completes (`pyxos.sim.barrier`), while the
node keeps stepping. `Applied` and `Note` are observations of the node's in-memory state and go
to the checkers and coverage counters at once. Records reach the checkers when their sync
completes.

A node boots from its disk's synced records; its `Host` (disk, gate, incarnation) outlives its
crashes. A node that finds damage on its disk that no crash explains refuses to start, and the
operator rebuilds it `REBUILD_DELAY_US` later (a `Rebuild` fault, fired by `pyxos.sim.injector`).
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import assert_never

from pyxos.core.config import ReplicaConfig
from pyxos.core.io import Flush
from pyxos.faults import Rebuild
from pyxos.machines.base import StateMachine
from pyxos.machines.catalog import build_machines
from pyxos.node.io import (
    Applied,
    NodeInput,
    Note,
    Persist,
    Receive,
    Reply,
    Restored,
    SaveSnapshot,
    Send,
    Tick,
)
from pyxos.sim.checkers import AppliedPrefixes, ChosenValues, MonotoneBallots, format_batch
from pyxos.sim.coverage import Coverage
from pyxos.sim.disk import SimDisk
from pyxos.sim.events import DELIVER, FAULT, SYNC, TICK, TO_CLIENT, EventQueue
from pyxos.sim.faults import PlannedFault
from pyxos.sim.host import Host, NodeFactory
from pyxos.sim.network import SimNetwork
from pyxos.sim.options import SimOptions
from pyxos.sim.transcript import Transcript, address_name, describe_input

REBUILD_DELAY_US = 200_000
"""How long after a node refuses to start on a corrupt log the operator rebuilds it."""


def build_hosts(options: SimOptions, members: tuple[int, ...], rng: Random) -> dict[int, Host]:
    """One host per member, in member order; each disk's generator is drawn from `rng`."""
    hosts: dict[int, Host] = {}
    for node_id in members:
        config = ReplicaConfig(
            node_id=node_id,
            members=members,
            tick_ms=options.tick_ms,
            heartbeat_ticks=options.heartbeat_ticks,
            election_timeout_ticks_min=options.election_timeout_ticks_min,
            election_timeout_ticks_max=max(240, options.election_timeout_ticks_min),
            election_timeout_ticks_jitter=options.election_timeout_ticks_jitter,
            retransmit_ticks=options.retransmit_ticks,
            snapshot_every_slots=options.snapshot_every_slots,
        )
        disk = SimDisk(
            Random(rng.getrandbits(64)),
            latency_us_min=options.disk_latency_us_min,
            latency_us_max=options.disk_latency_us_max,
        )
        hosts[node_id] = Host(config, disk)
    return hosts


FLUSH = Flush()


class Cluster:
    """The nodes' hosts: boots, crashes and steps the nodes, and executes their effects.

    `steps` counts node steps and `records_synced` the records whose sync completed.
    """

    __slots__ = (
        "_factory",
        "_machines",
        "_node_rng",
        "_tick_rng",
        "applied",
        "ballots",
        "chosen",
        "coverage",
        "hosts",
        "network",
        "queue",
        "records_synced",
        "steps",
        "tick_us",
        "transcript",
        "violations",
    )

    def __init__(
        self,
        hosts: dict[int, Host],
        *,
        factory: NodeFactory,
        queue: EventQueue,
        network: SimNetwork,
        transcript: Transcript | None,
        chosen: ChosenValues,
        applied: AppliedPrefixes,
        ballots: MonotoneBallots,
        coverage: Coverage,
        violations: list[str],
        node_rng: Random,
        tick_rng: Random,
        tick_us: int,
        machine_factory: Callable[[], StateMachine] = build_machines,
    ) -> None:
        self.hosts = hosts
        self._factory = factory
        self._machines = machine_factory  # a fresh state machine for each incarnation
        self.queue = queue
        self.network = network
        self.transcript = transcript
        self.chosen = chosen
        self.applied = applied
        self.ballots = ballots
        self.coverage = coverage
        self.violations = violations  # shared with the runner: disk problems found at boot
        self._node_rng = node_rng  # one generator per incarnation is drawn from it
        self._tick_rng = tick_rng  # each incarnation's tick phase
        self.tick_us = tick_us
        self.steps = 0
        self.records_synced = 0

    def leader(self) -> int | None:
        """The lowest-numbered live node that believes it leads, if any."""
        for host in self.hosts.values():
            if host.node is not None and host.node.is_leader:
                return host.node_id
        return None

    # ---- boot and crash ---------------------------------------------------------------------
    def boot(self, host: Host) -> None:
        """Start a new incarnation of `host`'s node from its synced records."""
        disk = host.disk
        now = self.queue.now_us
        repaired, problem, corrupt = disk.recover()
        if problem is not None:
            self.violations.append(f"t={now}us node {host.node_id}: {problem}")
        if corrupt is not None:
            self._refuse_to_start(host, corrupt)
            return
        if repaired:
            self.coverage.on_note("torn_tail", restarted=True)
        host.incarnation += 1
        host.up = True
        rng = Random(self._node_rng.getrandbits(64))
        if host.rejoining:
            node = self._factory(
                host.config, self._machines(), rng, disk.synced, disk.snapshot, rejoining=True
            )
        else:
            node = self._factory(host.config, self._machines(), rng, disk.synced, disk.snapshot)
        host.node = node
        self.applied.on_start(host.node_id)
        if host.incarnation > 1:
            self.ballots.on_restart(host.node_id, node.promised, now)
        phase_us = int(self._tick_rng.random() * self.tick_us)
        self.queue.after(phase_us, TICK, host.node_id, host.incarnation)

    def _refuse_to_start(self, host: Host, corrupt: str) -> None:
        """A node that finds damage no crash explains stops loudly; the operator rebuilds it."""
        now = self.queue.now_us
        self.coverage.on_note("corruption_detected", restarted=True)
        if self.transcript is not None:
            self.transcript.add(now, f"n{host.node_id} refuses to start: {corrupt}")
        if not host.rebuild_pending:
            host.rebuild_pending = True
            at_us = now + REBUILD_DELAY_US
            action = Rebuild(node=host.node_id)
            self.queue.push(at_us, FAULT, 0, PlannedFault(at_us=at_us, action=action))

    def crash(self, host: Host) -> None:
        """Stop `host`'s node: its unsynced records and its gated effects are lost."""
        host.up = False
        host.node = None
        host.incarnation += 1  # the old incarnation's ticks and syncs find nobody home
        lost = host.disk.crash()
        dropped = host.gate.clear()
        if self.transcript is not None:
            self.transcript.add(
                self.queue.now_us,
                f"n{host.node_id} down: {lost} unsynced records lost, {dropped} effects dropped",
            )

    # ---- stepping and effects ---------------------------------------------------------------
    def step(self, host: Host, inp: NodeInput) -> None:
        """Step `host`'s (live) node with `inp` and execute its effects in order."""
        node = host.node
        assert node is not None
        self.steps += 1
        effects = node.step(inp)
        if type(inp) is not Tick:
            # One input per turn: the driver's turn ends here (a Tick flushes by itself).
            effects += node.step(FLUSH)
        tr = self.transcript
        if tr is not None and type(inp) is not Tick:
            tr.add(self.queue.now_us, f"n{host.node_id} <- {describe_input(inp)}")
        gate = host.gate
        for effect in effects:
            match effect:
                case Send() | Reply():
                    if gate.offer(effect):
                        self._execute(host, effect)
                case Persist(records=records, barrier=barrier):
                    disk = host.disk
                    disk.append(records)
                    sync_id, done_us = disk.start_sync(self.queue.now_us)
                    self.queue.push(done_us, SYNC, host.node_id, (host.incarnation, sync_id))
                    if barrier:
                        gate.barrier(sync_id)
                    if tr is not None:
                        tr.add(
                            self.queue.now_us,
                            f"n{host.node_id} persist sync={sync_id} barrier={barrier} {records!r}",
                        )
                case Applied(slot=slot, batch=batch):
                    self.applied.on_applied(host.node_id, slot, batch, self.queue.now_us)
                    if tr is not None:
                        tr.add(
                            self.queue.now_us,
                            f"n{host.node_id} applied slot={slot} {format_batch(batch)}",
                        )
                case SaveSnapshot(snapshot=snapshot):
                    # Written, synced and renamed at once; it covers only decided slots and a
                    # promise already made, so it never needs to wait behind a barrier.
                    compacted = host.disk.save_snapshot(snapshot)
                    if tr is not None:
                        tr.add(
                            self.queue.now_us,
                            f"n{host.node_id} snapshot slot={snapshot.slot} "
                            f"promised={snapshot.promised} compacted={compacted}",
                        )
                case Restored(slot=slot):
                    self.applied.on_restored(host.node_id, slot)
                    if tr is not None:
                        tr.add(self.queue.now_us, f"n{host.node_id} restored slot={slot}")
                case Note(kind=kind, detail=detail):
                    self.coverage.on_note(kind, restarted=host.restarts > 0)
                    if kind == "rejoined":
                        host.rejoining = False
                    if tr is not None:
                        tr.add(self.queue.now_us, f"n{host.node_id} note {kind} {detail}")
                case _:
                    assert_never(effect)

    def _execute(self, host: Host, effect: Send | Reply) -> None:
        now = self.queue.now_us
        src = host.node_id
        delays = self.network.transit(src, effect.to)
        tr = self.transcript
        if tr is not None:
            fate = "lost" if not delays else "+".join(f"{d}us" for d in delays)
            tr.add(now, f"n{src}->{address_name(effect.to)} {fate} {effect.message!r}")
        if not delays:
            return
        push = self.queue.push
        if type(effect) is Send:
            inp = Receive(sender=src, message=effect.message)
            for delay in delays:
                push(now + delay, DELIVER, effect.to, inp)
        else:
            payload = (src, effect.message)
            for delay in delays:
                push(now + delay, TO_CLIENT, effect.to, payload)

    def on_sync(self, host: Host, incarnation: int, sync_id: int) -> None:
        """A sync completed: its records become durable and the effects it held run."""
        if host.incarnation != incarnation or not host.up:
            return  # the node crashed while this sync was in flight: it never completed
        now = self.queue.now_us
        node_id = host.node_id
        records = host.disk.complete_sync(sync_id)
        self.records_synced += len(records)
        if self.transcript is not None:
            self.transcript.add(now, f"n{node_id} synced sync={sync_id} records={len(records)}")
        for record in records:
            self.chosen.on_durable(node_id, record, now)
            self.ballots.on_durable(node_id, record, now)
        for effect in host.gate.release(sync_id):
            self._execute(host, effect)
