"""The simulated cluster: hosting the nodes and executing their effects.

Theory of operation. A node runs as it does in the runtime: its inputs (peer messages, client
requests, ticks) queue in its inbox, and a turn steps up to `turn_inputs_max` of them and then
flushes (`pyxos.exec.turns`). An idle node takes an input at once; a turn keeps the node busy for
`step_cost_us` of virtual time per input, and inputs that arrive meanwhile wait for the next
turn, as they would behind a busy event loop. Effects
go to the runtime's own `EffectExecutor` (`pyxos.exec`): `Send` and `Reply` through its
`Persist` gate to the network, records and snapshots to its group-commit writer, whose rounds
run on the simulated disk (one at a time: append, then a sync that completes after the disk's
latency, then the round's snapshots are saved). `Applied` and `Note` are observations of the
node's in-memory state and go to the checkers and coverage counters at once; records reach the
checkers when their sync completes.

A node boots from its disk's synced records; its `Host` (disk, incarnation) outlives its
crashes, while its inbox and executor are memory and die with it. A node that finds damage on
its disk that no crash explains refuses to start, and the operator rebuilds it
`REBUILD_DELAY_US` later (a `Rebuild` fault, fired by `pyxos.sim.injector`).
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import assert_never

from pyxos.core.config import ReplicaConfig
from pyxos.core.protocol import ProtocolSpec
from pyxos.core.quorum import QuorumSystem
from pyxos.exec.executor import EffectExecutor, Emitted, Observed
from pyxos.exec.turns import run_turn
from pyxos.exec.writer import WriteRound
from pyxos.faults import Rebuild
from pyxos.machines.base import StateMachine
from pyxos.machines.catalog import build_machines
from pyxos.node.io import Applied, NodeInput, Note, Receive, Restored, Send, Tick
from pyxos.sim.checkers import AppliedPrefixes, ChosenValues, MonotoneBallots, format_batch
from pyxos.sim.coverage import Coverage
from pyxos.sim.disk import SimDisk
from pyxos.sim.events import DELIVER, FAULT, SYNC, TICK, TO_CLIENT, TURN, EventQueue
from pyxos.sim.faults import PlannedFault
from pyxos.sim.host import Host, NodeFactory
from pyxos.sim.network import SimNetwork
from pyxos.sim.options import SimOptions
from pyxos.sim.transcript import Transcript, address_name, describe_input

REBUILD_DELAY_US = 200_000
"""How long after a node refuses to start on a corrupt log the operator rebuilds it."""


def build_hosts(
    options: SimOptions,
    members: tuple[int, ...],
    rng: Random,
    *,
    quorums: QuorumSystem,
    protocol: ProtocolSpec,
    protocol_options: tuple[tuple[str, str], ...] = (),
) -> dict[int, Host]:
    """One host per member, in member order; each disk's generator is drawn from `rng`."""
    hosts: dict[int, Host] = {}
    for node_id in members:
        config = ReplicaConfig(
            node_id=node_id,
            members=members,
            quorum=quorums,
            tick_ms=options.tick_ms,
            heartbeat_ticks=options.heartbeat_ticks,
            election_timeout_ticks_min=options.election_timeout_ticks_min,
            election_timeout_ticks_max=max(240, options.election_timeout_ticks_min),
            election_timeout_ticks_jitter=options.election_timeout_ticks_jitter,
            retransmit_ticks=options.retransmit_ticks,
            snapshot_every_slots=options.snapshot_every_slots,
            thrifty=bool(options.thrifty),
            options=protocol_options,
        )
        disk = SimDisk(
            Random(rng.getrandbits(64)),
            latency_us_min=options.disk_latency_us_min,
            latency_us_max=options.disk_latency_us_max,
            protocol=protocol,
        )
        hosts[node_id] = Host(config, disk)
    return hosts


class Cluster:
    """The nodes' hosts: boots, crashes and steps the nodes, and executes their effects.

    `steps` counts the inputs nodes stepped and `records_synced` the records whose sync
    completed.
    """

    __slots__ = (
        "_fact",
        "_factory",
        "_machines",
        "_node_rng",
        "_step_cost_us",
        "_tick_rng",
        "_turn_inputs_max",
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
        protocol: ProtocolSpec,
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
        turn_inputs_max: int,
        step_cost_us: int,
        machine_factory: Callable[[], StateMachine] = build_machines,
    ) -> None:
        self.hosts = hosts
        self._factory = factory
        self._fact = protocol.fact
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
        self._turn_inputs_max = turn_inputs_max
        self._step_cost_us = step_cost_us
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
        host.executor = self._executor(host, host.incarnation)
        self.applied.on_start(host.node_id)
        if host.incarnation > 1:
            self.ballots.on_restart(host.node_id, node.promised, now)
        phase_us = int(self._tick_rng.random() * self.tick_us)
        self.queue.after(phase_us, TICK, host.node_id, host.incarnation)

    def _executor(self, host: Host, incarnation: int) -> EffectExecutor:
        def emit(effect: Emitted) -> None:
            self._emit(host, effect)

        def observe(effect: Observed) -> None:
            self._observe(host, effect)

        def start_round(round_: WriteRound) -> None:
            self._start_round(host, incarnation, round_)

        return EffectExecutor(emit=emit, observe=observe, start_round=start_round)

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
        """Stop `host`'s node: its inbox, its unsynced records and its gated effects are lost."""
        host.up = False
        host.node = None
        host.incarnation += 1  # the old incarnation's ticks, turns and syncs find nobody home
        lost = host.disk.crash()
        dropped = host.executor.stop() if host.executor is not None else 0
        host.executor = None
        host.inbox.clear()
        host.turn_pending = False
        host.busy_until_us = 0
        if self.transcript is not None:
            self.transcript.add(
                self.queue.now_us,
                f"n{host.node_id} down: {lost} unsynced records lost, {dropped} effects dropped",
            )

    # ---- inputs and turns -------------------------------------------------------------------
    def deliver(self, host: Host, inp: NodeInput) -> None:
        """An input for `host`'s (live) node: it waits in the inbox for the node's next turn."""
        host.inbox.append(inp)
        self._schedule_turn(host)

    def tick(self, host: Host) -> None:
        """The node's ticker fired: a `Tick` input, and records no barrier waits for are
        wanted durable (as the runtime's ticker does)."""
        host.inbox.append(Tick(now_ms=self.queue.now_us // 1000))
        assert host.executor is not None
        host.executor.want_all()
        self._schedule_turn(host)

    def _schedule_turn(self, host: Host) -> None:
        if host.turn_pending:
            return
        now = self.queue.now_us
        if now >= host.busy_until_us:
            self._turn(host)  # idle: it takes the input at once
        else:
            host.turn_pending = True
            self.queue.push(host.busy_until_us, TURN, host.node_id, host.incarnation)

    def on_turn(self, host: Host, incarnation: int) -> None:
        """A TURN event: the node is free again and inputs wait."""
        if host.incarnation != incarnation or not host.up:
            return
        host.turn_pending = False
        self._turn(host)

    def _turn(self, host: Host) -> None:
        """Step what waits in the inbox (up to the bound), then flush; the node is busy for the
        inputs' cost, and a next turn follows if more wait."""
        node, executor = host.node, host.executor
        assert node is not None and executor is not None
        incarnation = host.incarnation
        taken = self._describe_taken(host) if self.transcript is not None else None
        count = run_turn(
            host.inbox,
            node.step,
            executor.execute,
            inputs_max=self._turn_inputs_max,
            taken=taken,
        )
        self.steps += count
        host.busy_until_us = self.queue.now_us + count * self._step_cost_us
        if host.inbox and host.up and host.incarnation == incarnation and not host.turn_pending:
            host.turn_pending = True
            self.queue.push(host.busy_until_us, TURN, host.node_id, incarnation)

    def _describe_taken(self, host: Host) -> Callable[[NodeInput], None]:
        transcript = self.transcript
        assert transcript is not None

        def taken(inp: NodeInput) -> None:
            if type(inp) is not Tick:
                transcript.add(self.queue.now_us, f"n{host.node_id} <- {describe_input(inp)}")

        return taken

    # ---- effects ----------------------------------------------------------------------------
    def _observe(self, host: Host, effect: Observed) -> None:
        tr = self.transcript
        now = self.queue.now_us
        match effect:
            case Applied(slot=slot, batch=batch, object=obj, object_slot=object_slot):
                self.applied.on_applied(host.node_id, object_slot or slot, batch, now, obj)
                if tr is not None:
                    where = f"slot={slot}" if not obj else f"object={obj!r} slot={object_slot}"
                    tr.add(now, f"n{host.node_id} applied {where} {format_batch(batch)}")
            case Restored(slot=slot, objects=objects):
                if not objects:
                    self.applied.on_restored(host.node_id, slot)
                for obj, applied in objects:
                    self.applied.on_restored(host.node_id, applied, obj)
                if tr is not None:
                    tr.add(now, f"n{host.node_id} restored slot={slot}")
            case Note(kind=kind, detail=detail):
                self.coverage.on_note(kind, restarted=host.restarts > 0)
                if kind == "rejoined":
                    host.rejoining = False
                if tr is not None:
                    tr.add(now, f"n{host.node_id} note {kind} {detail}")
            case _:
                assert_never(effect)

    def _emit(self, host: Host, effect: Emitted) -> None:
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

    # ---- the disk ---------------------------------------------------------------------------
    def _start_round(self, host: Host, incarnation: int, round_: WriteRound) -> None:
        """The executor's writer starts a round: its records are written (not yet durable) and
        a sync starts; the round completes with the sync."""
        if host.incarnation != incarnation or not host.up:
            return
        disk = host.disk
        records = round_.records
        disk.append(records)
        sync_id, done_us = disk.start_sync(self.queue.now_us)
        self.queue.push(done_us, SYNC, host.node_id, (incarnation, sync_id, round_))
        if self.transcript is not None:
            snapshots = [s.slot for s in round_.snapshots]
            self.transcript.add(
                self.queue.now_us,
                f"n{host.node_id} write sync={sync_id} upto={round_.upto} "
                f"snapshots={snapshots} {records!r}",
            )

    def on_sync(self, host: Host, incarnation: int, sync_id: int, round_: WriteRound) -> None:
        """A round's sync completed: its records become durable, its snapshots are saved, and
        the effects it held run."""
        if host.incarnation != incarnation or not host.up:
            return  # the node crashed while this sync was in flight: it never completed
        now = self.queue.now_us
        node_id = host.node_id
        disk = host.disk
        records = disk.complete_sync(sync_id)
        self.records_synced += len(records)
        tr = self.transcript
        if tr is not None:
            tr.add(now, f"n{node_id} synced sync={sync_id} records={len(records)}")
        fact = self._fact
        for record in records:
            meaning = fact(record)
            self.chosen.on_durable(node_id, meaning, now)
            self.ballots.on_durable(node_id, meaning, now)
        for snapshot in round_.snapshots:
            # Written, synced and renamed with the round; it covers only decided slots and a
            # promise already made.
            compacted = disk.save_snapshot(snapshot)
            if tr is not None:
                tr.add(
                    now,
                    f"n{node_id} snapshot slot={snapshot.slot} promised={snapshot.promised} "
                    f"compacted={compacted}",
                )
        executor = host.executor
        assert executor is not None
        executor.round_done(round_)
