"""`run_seed`: one simulated run, from a seed to a `SimResult`.

Theory of operation. The run owns one `Random(seed)`: the options are drawn from it first, then
one sub-generator per concern (network, each disk, each client, the fault plan, tick phases,
node incarnations) is derived from it in a fixed order, so adding a draw in one concern never
shifts another's. Everything happens in the event loop of one thread; the virtual clock jumps
from event to event (`pyxos.sim.events`).

A node's effects run in list order. `Send` and `Reply` go through the network; `Persist` writes
records to the node's disk and starts a sync, and a barrier `Persist` holds every later output
of the node until that sync completes (`pyxos.sim.barrier`), while the node keeps stepping.
`Applied` and `Note` are observations of the node's in-memory state and go to the checkers and
coverage counters at once. Records reach the checkers when their sync completes.

Phases: in the fault phase clients run and the planned faults fire (`pyxos.sim.faults`). At its
end everything is healed (no partition, no loss or duplication, base delays, every node up);
clients that still have operations to issue finish issuing them. Then the convergence phase:
no new operations; every pending one must complete, and every node must apply the same prefix
(covering every chosen slot) before the deadline, or the run reports a liveness violation.
"""

from __future__ import annotations

import traceback
from dataclasses import replace
from random import Random
from typing import assert_never

from pyxos.check.history import Operation
from pyxos.core.config import ReplicaConfig
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
from pyxos.machines.kv import KvMachine
from pyxos.node.client_messages import ClientInbound, ClientOutbound, ClientRequest
from pyxos.node.io import (
    Applied,
    FromClient,
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
from pyxos.sim.checkers import (
    AppliedPrefixes,
    ChosenValues,
    MonotoneBallots,
    acked_writes_violations,
    format_batch,
)
from pyxos.sim.clients import SimClient
from pyxos.sim.coverage import Coverage
from pyxos.sim.disk import SimDisk
from pyxos.sim.events import (
    CLIENT_NEXT,
    CLIENT_TIMEOUT,
    CONTROL,
    DELIVER,
    FAULT,
    SYNC,
    TICK,
    TO_CLIENT,
    EventQueue,
)
from pyxos.sim.faults import (
    MID_SYNC_RETRY_US,
    CrashPick,
    PartitionPick,
    PlannedFault,
    RestartPick,
    partition_shape,
    plan_faults,
)
from pyxos.sim.host import Host, NodeFactory, real_node_factory
from pyxos.sim.network import SimNetwork
from pyxos.sim.options import SimOptions, apply_overrides, draw_options
from pyxos.sim.result import SimResult, SimStats
from pyxos.sim.transcript import CLIENT_ADDRESS_BASE, Transcript, address_name, describe_input
from pyxos.sim.verdict import linearizability_violations, liveness_violations

CHECK_INTERVAL_US = 10_000
"""After the fault phase, how often the runner looks for convergence."""

# CONTROL payloads
_END_FAULT_PHASE = 0
_CHECK = 1

# Phases
_FAULTS = 0  # clients issue operations, faults fire
_TAIL = 1  # everything healed; clients finish issuing their operations
_CONVERGE = 2  # no new operations; waiting for pending ones and for the nodes to agree
_DONE = 3


def run_seed(
    seed: int,
    *,
    transcript: bool = False,
    node_factory: NodeFactory | None = None,
    **overrides: int | float,
) -> SimResult:
    """Run seed `seed` with its options (and `overrides`, by option name) and check it."""
    options = apply_overrides(draw_options(Random(seed), seed), overrides)
    return run_with_options(options, transcript=transcript, node_factory=node_factory)


def run_with_options(
    options: SimOptions, *, transcript: bool = False, node_factory: NodeFactory | None = None
) -> SimResult:
    """Run with fully expanded options (the seed is `options.seed`)."""
    sim = Simulation(options, transcript=transcript, node_factory=node_factory)
    return sim.run()


REBUILD_DELAY_US = 200_000
"""How long after a node refuses to start on a corrupt log the operator rebuilds it."""


class Simulation:
    """One run. Build it, call `run()` once."""

    def __init__(
        self,
        options: SimOptions,
        *,
        transcript: bool = False,
        node_factory: NodeFactory | None = None,
    ) -> None:
        self.options = options
        rng = Random(options.seed)
        draw_options(rng, options.seed)  # the options' draws come first in the seed's stream
        self._factory = node_factory if node_factory is not None else real_node_factory
        self.queue = EventQueue()
        self.transcript = Transcript() if transcript else None
        members = tuple(range(1, options.nodes + 1))
        self.members = members
        self.network = SimNetwork(
            Random(rng.getrandbits(64)),
            delay_us_min=options.delay_us_min,
            delay_us_max=options.delay_us_max,
        )
        self.hosts: dict[int, Host] = {}
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
            self.hosts[node_id] = Host(config, disk)
        keys = tuple(f"k{i}" for i in range(1, options.keys + 1))
        self.clients: dict[int, SimClient] = {}
        for index in range(options.clients):
            address = CLIENT_ADDRESS_BASE + index + 1
            share = options.ops // options.clients + (index < options.ops % options.clients)
            self.clients[address] = SimClient(
                address,
                Random(rng.getrandbits(64)),
                nodes=members,
                keys=keys,
                ops=share,
                timeout_us_min=options.client_timeout_us_min,
                timeout_us_max=options.client_timeout_us_max,
            )
        self._plan_rng = Random(rng.getrandbits(64))
        self._tick_rng = Random(rng.getrandbits(64))
        self._node_rng = Random(rng.getrandbits(64))
        self._think_rng = Random(rng.getrandbits(64))
        self._fault_rng = Random(rng.getrandbits(64))
        self.chosen = ChosenValues(self.hosts[members[0]].config.quorums)
        self.applied = AppliedPrefixes(self.chosen)
        self.ballots = MonotoneBallots()
        self.coverage = Coverage()
        self.violations: list[str] = []
        self.acked: list[tuple[int, int, int]] = []
        self.phase = _FAULTS
        self._tick_us = options.tick_ms * 1000
        self._think_us_max = max(
            1, options.fault_phase_us * options.clients * 3 // max(1, 2 * options.ops)
        )
        self._crashed: dict[int, list[int]] = {}  # crash episode -> nodes
        self._corruptions_left = options.corruptions
        self._converge_deadline_us = 0
        self._tail_deadline_us = options.fault_phase_us + options.convergence_us_max
        self.steps = 0
        self.delivered = 0
        self.fault_events = 0
        self.records_synced = 0
        self.converged = False

    def schedule(self, at_us: int, fault: Fault) -> None:
        """Fire `fault` at `at_us`, besides the seed's own plan (for scenario tests)."""
        self.queue.push(at_us, FAULT, 0, PlannedFault(at_us=at_us, action=fault))

    # ---- the loop ---------------------------------------------------------------------------
    def run(self) -> SimResult:
        try:
            self._start()
            self._loop()
            self._finish()
        except Exception as exc:  # a node's invariant check, or a bug in the simulator
            frames = traceback.format_exception(exc)
            self.violations.append(
                f"t={self.queue.now_us}us exception: {type(exc).__name__}: {exc}\n"
                + "".join(frames[-6:]).rstrip()
            )
        return self._result()

    def _start(self) -> None:
        for node_id in self.members:
            self._boot(self.hosts[node_id])
        for client in self.clients.values():
            self.queue.push(self._think_us(), CLIENT_NEXT, client.address, None)
        plan = plan_faults(self._plan_rng, self.options, self.members)
        for planned in plan:
            self.queue.push(planned.at_us, FAULT, 0, planned)
        self.queue.push(self.options.fault_phase_us, CONTROL, 0, _END_FAULT_PHASE)

    def _loop(self) -> None:
        queue = self.queue
        hosts = self.hosts
        clients = self.clients
        while queue and self.phase != _DONE:
            _, _, kind, target, payload = queue.pop()
            if kind == DELIVER:
                host = hosts[target]
                if host.up:
                    self.delivered += 1
                    self._step(host, payload)
                else:
                    self.network.dropped += 1
            elif kind == TICK:
                host = hosts[target]
                if host.incarnation == payload and host.up:
                    queue.after(self._tick_us, TICK, target, payload)
                    self._step(host, Tick(now_ms=queue.now_us // 1000))
            elif kind == SYNC:
                self._on_sync(hosts[target], payload[0], payload[1])
            elif kind == TO_CLIENT:
                self.delivered += 1
                self._on_client_reply(clients[target], payload[0], payload[1])
            elif kind == CLIENT_TIMEOUT:
                self._on_client_timeout(clients[target], payload[0], payload[1])
            elif kind == CLIENT_NEXT:
                self._on_client_next(clients[target])
            elif kind == FAULT:
                self._on_planned_fault(payload)
            elif kind == CONTROL:
                self._on_control(payload)
            else:
                raise AssertionError(f"unknown event kind {kind}")

    # ---- nodes ------------------------------------------------------------------------------
    def _boot(self, host: Host) -> None:
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
                host.config, KvMachine(), rng, disk.synced, disk.snapshot, rejoining=True
            )
        else:
            node = self._factory(host.config, KvMachine(), rng, disk.synced, disk.snapshot)
        host.node = node
        self.applied.on_start(host.node_id)
        if host.incarnation > 1:
            self.ballots.on_restart(host.node_id, node.promised, now)
        phase_us = int(self._tick_rng.random() * self._tick_us)
        self.queue.after(phase_us, TICK, host.node_id, host.incarnation)

    def _refuse_to_start(self, host: Host, corrupt: str) -> None:
        """A node that finds damage no crash explains stops loudly; the operator rebuilds it."""
        now = self.queue.now_us
        self.coverage.on_note("corruption_detected", restarted=True)
        if self.transcript is not None:
            self.transcript.add(now, f"n{host.node_id} refuses to start: {corrupt}")
        if not host.rebuild_pending:
            host.rebuild_pending = True
            self.schedule(now + REBUILD_DELAY_US, Rebuild(node=host.node_id))

    def _maybe_corrupt(self, host: Host) -> None:
        """Damage one synced record of a restarting node (one node per run, never while another
        is rebuilding: two rejoining replicas would wait for each other)."""
        if self._corruptions_left <= 0:
            return
        if any(h.rejoining or h.rebuild_pending for h in self.hosts.values()):
            return
        if host.disk.corrupt(self._fault_rng):
            self._corruptions_left -= 1

    def _crash(self, host: Host) -> None:
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

    def _step(self, host: Host, inp: NodeInput) -> None:
        node = host.node
        assert node is not None
        self.steps += 1
        effects = node.step(inp)
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

    def _on_sync(self, host: Host, incarnation: int, sync_id: int) -> None:
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

    # ---- clients ----------------------------------------------------------------------------
    def _think_us(self) -> int:
        return int(self._think_rng.random() * self._think_us_max)

    def _on_client_next(self, client: SimClient) -> None:
        if self.phase >= _CONVERGE or client.in_flight or client.ops_left <= 0:
            return
        request = client.start(self.queue.now_us)
        if self.transcript is not None:
            self.transcript.add(
                self.queue.now_us, f"c{client.address} invoke {client.op_number} {request!r}"
            )
        self._client_send(client, request)

    def _on_client_timeout(self, client: SimClient, op_number: int, attempt: int) -> None:
        if not client.in_flight or client.op_number != op_number or client.attempt != attempt:
            return
        request = client.retry()
        if self.transcript is not None:
            self.transcript.add(
                self.queue.now_us,
                f"c{client.address} retry {op_number} attempt {client.attempt} to n{client.target}",
            )
        self._client_send(client, request)

    def _client_send(self, client: SimClient, request: ClientInbound) -> None:
        now = self.queue.now_us
        target = client.target
        delays = self.network.transit(client.address, target)
        if delays:
            inp = FromClient(sender=client.address, message=request)
            for delay in delays:
                self.queue.push(now + delay, DELIVER, target, inp)
        self.queue.push(
            now + client.timeout_us(),
            CLIENT_TIMEOUT,
            client.address,
            (client.op_number, client.attempt),
        )

    def _on_client_reply(self, client: SimClient, sender: int, message: ClientOutbound) -> None:
        request = client.request
        now = self.queue.now_us
        if not client.on_reply(now, sender, message):
            return
        if isinstance(request, ClientRequest):
            self.acked.append((request.client_id, request.seq, now))
        if self.transcript is not None:
            op = client.history[-1]
            self.transcript.add(
                now, f"c{client.address} complete {client.op_number} output={op.output!r}"
            )
        if client.ops_left > 0 and self.phase < _CONVERGE:
            self.queue.after(self._think_us(), CLIENT_NEXT, client.address, None)

    # ---- faults and phases ------------------------------------------------------------------
    def _on_planned_fault(self, planned: PlannedFault) -> None:
        action = planned.action
        match action:
            case CrashPick():
                self._on_crash_pick(action)
            case RestartPick(episode=episode):
                for node_id in self._crashed.pop(episode, ()):
                    self._fire(Restart(node=node_id))
            case PartitionPick(kind=kind, target_leader=target_leader):
                leader = self._leader() if target_leader else None
                self._fire(partition_shape(self._fault_rng, kind, self.members, leader))
            case _:
                self._fire(action)

    def _leader(self) -> int | None:
        """The lowest-numbered live node that believes it leads, if any."""
        for host in self.hosts.values():
            if host.node is not None and host.node.is_leader:
                return host.node_id
        return None

    def _on_crash_pick(self, pick: CrashPick) -> None:
        up = [h for h in self.hosts.values() if h.up]
        if not up:
            return
        rng = self._fault_rng
        leaders = [h for h in up if h.node is not None and h.node.is_leader]
        if pick.mid_sync and pick.tries_left > 0 and not any(h.disk.unsynced_count for h in up):
            retry = replace(pick, tries_left=pick.tries_left - 1)
            at_us = self.queue.now_us + MID_SYNC_RETRY_US
            self.queue.push(at_us, FAULT, 0, PlannedFault(at_us=at_us, action=retry))
            return
        if pick.scope == "all":
            victims = up
        else:
            count = 1 if pick.scope == "one" else len(self.members) // 2 + 1
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
            self._fire(Crash(node=node_id))

    def _fire(self, fault: Fault) -> None:
        """Apply one fault now (a no-op for a crash of a down node or a restart of an up one)."""
        match fault:
            case Crash(node=node_id):
                host = self.hosts[node_id]
                if not host.up:
                    return
                self._crash(host)
            case Restart(node=node_id):
                host = self.hosts[node_id]
                if host.up:
                    return
                host.restarts += 1
                self._maybe_corrupt(host)
                self._boot(host)
            case Rebuild(node=node_id):
                host = self.hosts[node_id]
                if host.up:
                    return
                host.disk.wipe()
                host.rebuild_pending = False
                host.rejoining = True
                host.restarts += 1
                self.ballots.on_rebuild(node_id)
                self._boot(host)
            case Partition() | Heal() | SetDrop() | SetDuplicate() | SetDelay():
                self.network.apply(fault)
            case _:
                assert_never(fault)
        self.fault_events += 1
        if self.transcript is not None:
            self.transcript.add(self.queue.now_us, f"fault {describe_fault(fault)}")

    def _on_control(self, what: int) -> None:
        if what == _END_FAULT_PHASE:
            self._heal_all()
            self.phase = _TAIL
            self._on_check()
        elif what == _CHECK:
            self._on_check()

    def _heal_all(self) -> None:
        options = self.options
        self._fire(Heal())
        self._fire(SetDrop(p=0.0))
        self._fire(SetDuplicate(p=0.0))
        self._fire(SetDelay(delay_us_min=options.delay_us_min, delay_us_max=options.delay_us_max))
        for node_id in self.members:
            if not self.hosts[node_id].up:
                self._fire(Restart(node=node_id))
        self._crashed.clear()

    def _on_check(self) -> None:
        now = self.queue.now_us
        if self.phase == _TAIL:
            if all(c.ops_left <= 0 for c in self.clients.values()):
                self.phase = _CONVERGE
                self._converge_deadline_us = now + self.options.convergence_us_max
                if self.transcript is not None:
                    self.transcript.add(now, "phase convergence")
            elif now >= self._tail_deadline_us:
                left = sum(c.ops_left for c in self.clients.values())
                self.violations.append(
                    f"liveness: t={now}us clients still had {left} operations to issue "
                    f"{self.options.convergence_us_max}us after the fault phase ended"
                )
                self.phase = _DONE
                return
        if self.phase == _CONVERGE:
            if self._is_converged():
                self.converged = True
                self.phase = _DONE
                return
            if now >= self._converge_deadline_us:
                self.phase = _DONE
                return
        self.queue.after(CHECK_INTERVAL_US, CONTROL, 0, _CHECK)

    def _is_converged(self) -> bool:
        if any(c.in_flight for c in self.clients.values()):
            return False
        upto = None
        for host in self.hosts.values():
            node = host.node
            if node is None or len(host.gate):
                return False
            if upto is None:
                upto = node.applied_upto
            elif node.applied_upto != upto:
                return False
        return upto is not None and upto >= self.chosen.max_chosen_slot

    # ---- the end ----------------------------------------------------------------------------
    def _finish(self) -> None:
        now = self.queue.now_us
        if not self.converged and not any(v.startswith("liveness") for v in self.violations):
            pending = [op for c in self.clients.values() if (op := c.pending()) is not None]
            applied = {
                h.node_id: (h.node.applied_upto if h.node is not None else None)
                for h in self.hosts.values()
            }
            self.violations.extend(
                liveness_violations(now, pending, applied, self.chosen.max_chosen_slot)
            )
        upto = {node_id: self.applied.applied_upto(node_id) for node_id in self.members}
        if not self.converged:
            # Only the log as a whole is meaningful for nodes that did not catch up.
            best = max(upto.values(), default=0)
            upto = {node_id: best for node_id in self.members}
        self.violations.extend(acked_writes_violations(self.acked, self.applied.log, upto))

    def _history(self) -> list[Operation]:
        ops: list[Operation] = []
        for address in sorted(self.clients):
            client = self.clients[address]
            ops.extend(client.history)
            pending = client.pending()
            if pending is not None:
                ops.append(pending)
        ops.sort(key=lambda op: (op.invoke, op.client))
        return ops

    def _result(self) -> SimResult:
        history = self._history()
        violations = (
            self.chosen.violations
            + self.applied.violations
            + self.ballots.violations
            + self.violations
        )
        found, counterexample = linearizability_violations(history)
        violations.extend(found)
        network = self.network
        stats = SimStats(
            ops_issued=sum(c.op_number for c in self.clients.values()),
            ops_completed=sum(len(c.history) for c in self.clients.values()),
            messages_sent=network.sent,
            messages_delivered=self.delivered,
            messages_dropped=network.dropped,
            messages_duplicated=network.duplicated,
            events=self.queue.popped,
            steps=self.steps,
            fault_events=self.fault_events,
            records_synced=self.records_synced,
            records_lost=sum(h.disk.lost for h in self.hosts.values()),
            duration_us=self.queue.now_us,
            notes=self.coverage.sorted_notes(),
        )
        return SimResult(
            seed=self.options.seed,
            options=self.options,
            violations=violations,
            coverage=self.coverage.counters(),
            stats=stats,
            history=history,
            counterexample=counterexample,
            transcript=None if self.transcript is None else self.transcript.lines,
        )
