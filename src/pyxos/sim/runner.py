"""`run_seed`: one simulated run, from a seed to a `SimResult`.

Theory of operation. The run owns one `Random(seed)`: the options are drawn from it first, then
one sub-generator per concern (network, each disk, each client, the fault plan, tick phases,
node incarnations, think times, fault picks) is derived from it in a fixed order, so adding a
draw in one concern never shifts another's. Everything happens in the event loop of one thread;
the virtual clock jumps from event to event (`pyxos.sim.events`). `Simulation` owns the loop and
the phases, and hands each event to the collaborator for its concern: `Cluster` hosts the nodes
and executes their effects (`pyxos.sim.cluster`), `ClientTraffic` drives the clients
(`pyxos.sim.traffic`), `FaultInjector` fires the faults (`pyxos.sim.injector`), and
`pyxos.sim.outcome` judges the end of the run.

Phases: in the fault phase clients run and the planned faults fire (`pyxos.sim.faults`). At its
end everything is healed (no partition, no loss or duplication, base delays, every node up);
clients that still have operations to issue finish issuing them. Then the convergence phase:
no new operations; every pending one must complete, and every node must apply the same prefix
(covering every chosen slot) before the deadline, or the run reports a liveness violation.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from pyxos.core.protocol import ExecutionOrder
from pyxos.core.protocols import DEFAULT_PROTOCOL, protocol_spec
from pyxos.core.quorum import MAJORITY, Grid, QuorumSpec, QuorumSystem
from pyxos.faults import Fault
from pyxos.machines.base import StateMachine
from pyxos.machines.catalog import build_machines
from pyxos.sim.checkers import AppliedPrefixes, ChosenValues, MonotoneBallots
from pyxos.sim.cluster import Cluster, build_hosts
from pyxos.sim.coverage import Coverage
from pyxos.sim.events import (
    CLIENT_NEXT,
    CLIENT_TIMEOUT,
    CONTROL,
    DELIVER,
    FAULT,
    SYNC,
    TICK,
    TO_CLIENT,
    TURN,
    EventQueue,
)
from pyxos.sim.host import NodeFactory
from pyxos.sim.host import node_factory as node_factory_of
from pyxos.sim.injector import FaultInjector
from pyxos.sim.network import SimNetwork
from pyxos.sim.options import WORKLOAD_KV, SimOptions, apply_overrides, draw_options
from pyxos.sim.outcome import build_result, final_violations, is_converged
from pyxos.sim.result import SimResult
from pyxos.sim.traffic import ClientTraffic, build_clients, think_us_max
from pyxos.sim.transcript import Transcript
from pyxos.sim.verdict import exception_violation

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
    quorums: QuorumSpec = MAJORITY,
    protocol: str = DEFAULT_PROTOCOL,
    protocol_options: tuple[tuple[str, str], ...] = (),
    **overrides: int | float,
) -> SimResult:
    """Run seed `seed` with its options (and `overrides`, by option name) and check it, under
    `protocol` with `quorums`."""
    fitted = fit_overrides(protocol, overrides)
    options = apply_overrides(draw_options(Random(seed), seed), fitted)
    return run_with_options(
        options,
        transcript=transcript,
        node_factory=node_factory,
        quorums=quorums,
        protocol=protocol,
        protocol_options=protocol_options,
    )


def run_with_options(
    options: SimOptions,
    *,
    transcript: bool = False,
    node_factory: NodeFactory | None = None,
    quorums: QuorumSpec = MAJORITY,
    protocol: str = DEFAULT_PROTOCOL,
    protocol_options: tuple[tuple[str, str], ...] = (),
) -> SimResult:
    """Run with fully expanded options (the seed is `options.seed`)."""
    sim = Simulation(
        options,
        transcript=transcript,
        node_factory=node_factory,
        quorums=quorums,
        protocol=protocol,
        protocol_options=protocol_options,
    )
    return sim.run()


def fit_overrides(protocol: str, overrides: dict[str, int | float]) -> dict[str, int | float]:
    """`overrides` plus what `protocol` needs unless they say otherwise: a protocol with a log
    per object runs the key-value workload and no disk corruptions (see `_check_per_object`)."""
    if protocol_spec(protocol).order is ExecutionOrder.PER_OBJECT:
        return {"workload": WORKLOAD_KV, "corruptions": 0, **overrides}
    return dict(overrides)


def _check_per_object(name: str, options: SimOptions) -> None:
    """What a protocol with a log per object cannot run yet in the simulator."""
    if options.workload != WORKLOAD_KV:
        raise ValueError(
            f"{name} runs the key-value workload only (--workload {WORKLOAD_KV}): the lock and "
            "election workloads write through fencing tokens, which need one order across the "
            "lock and the key"
        )
    if options.corruptions:
        raise ValueError(f"{name} cannot rebuild a node that lost its disk yet: --corruptions 0")


class Simulation:
    """One run. Build it, call `run()` once."""

    def __init__(
        self,
        options: SimOptions,
        *,
        transcript: bool = False,
        node_factory: NodeFactory | None = None,
        machine_factory: Callable[[], StateMachine] | None = None,
        quorums: QuorumSpec = MAJORITY,
        protocol: str = DEFAULT_PROTOCOL,
        protocol_options: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Raises `ValueError` for an unknown protocol, quorums that do not fit the nodes, or
        options a protocol cannot run with yet."""
        spec = protocol_spec(protocol)
        protocol_options = spec.check_options(protocol_options)
        self.options = options
        self.quorums = quorums
        self.protocol_options = protocol_options
        self.protocol = spec
        if spec.order is ExecutionOrder.PER_OBJECT:
            _check_per_object(spec.name, options)
        rng = Random(options.seed)
        draw_options(rng, options.seed)  # the options' draws come first in the seed's stream
        factory = node_factory if node_factory is not None else node_factory_of(spec)
        self.queue = EventQueue()
        self.transcript = Transcript() if transcript else None
        members = tuple(range(1, options.nodes + 1))
        self.members = members
        system: QuorumSystem = quorums.build(members)
        # The sub-generators, in their fixed order.
        self.network = SimNetwork(
            Random(rng.getrandbits(64)),
            delay_us_min=options.delay_us_min,
            delay_us_max=options.delay_us_max,
        )
        self.hosts = build_hosts(
            options,
            members,
            rng,
            quorums=system,
            protocol=spec,
            protocol_options=protocol_options,
        )
        self.clients = build_clients(options, members, rng)
        plan_rng = Random(rng.getrandbits(64))
        tick_rng = Random(rng.getrandbits(64))
        node_rng = Random(rng.getrandbits(64))
        think_rng = Random(rng.getrandbits(64))
        fault_rng = Random(rng.getrandbits(64))
        self.chosen = ChosenValues(system)
        self.applied = AppliedPrefixes(self.chosen)
        self.ballots = MonotoneBallots()
        self.coverage = Coverage()
        self.violations: list[str] = []
        self._tick_us = options.tick_ms * 1000
        self.cluster = Cluster(
            self.hosts,
            factory=factory,
            protocol=spec,
            queue=self.queue,
            network=self.network,
            transcript=self.transcript,
            chosen=self.chosen,
            applied=self.applied,
            ballots=self.ballots,
            coverage=self.coverage,
            violations=self.violations,
            node_rng=node_rng,
            tick_rng=tick_rng,
            tick_us=self._tick_us,
            turn_inputs_max=options.turn_inputs_max,
            step_cost_us=options.step_cost_us,
            machine_factory=machine_factory or build_machines,
        )
        self.traffic = ClientTraffic(
            self.clients,
            queue=self.queue,
            network=self.network,
            transcript=self.transcript,
            think_rng=think_rng,
            think_us_max=think_us_max(options),
        )
        self.injector = FaultInjector(
            self.cluster,
            options=options,
            members=members,
            queue=self.queue,
            network=self.network,
            transcript=self.transcript,
            ballots=self.ballots,
            plan_rng=plan_rng,
            fault_rng=fault_rng,
            zones=system.zones if isinstance(system, Grid) else (),
        )
        self.phase = _FAULTS
        self._converge_deadline_us = 0
        self._tail_deadline_us = options.fault_phase_us + options.convergence_us_max
        self.delivered = 0
        self.converged = False

    def schedule(self, at_us: int, fault: Fault) -> None:
        """Fire `fault` at `at_us`, besides the seed's own plan (for scenario tests)."""
        self.injector.schedule(at_us, fault)

    # ---- the loop ---------------------------------------------------------------------------
    def run(self) -> SimResult:
        try:
            self._start()
            self._loop()
            self._finish()
        except Exception as exc:  # a node's invariant check, or a bug in the simulator
            self.violations.append(exception_violation(self.queue.now_us, exc))
        return self._result()

    def _start(self) -> None:
        for node_id in self.members:
            self.cluster.boot(self.hosts[node_id])
        self.traffic.start()
        self.injector.start()
        self.queue.push(self.options.fault_phase_us, CONTROL, 0, _END_FAULT_PHASE)

    def _loop(self) -> None:
        queue = self.queue
        hosts = self.hosts
        clients = self.clients
        cluster = self.cluster
        traffic = self.traffic
        deliver = cluster.deliver
        tick_us = self._tick_us
        while queue and self.phase != _DONE:
            _, _, kind, target, payload = queue.pop()
            if kind == DELIVER:
                host = hosts[target]
                if host.up:
                    self.delivered += 1
                    deliver(host, payload)
                else:
                    self.network.dropped += 1
            elif kind == TURN:
                cluster.on_turn(hosts[target], payload)
            elif kind == TICK:
                host = hosts[target]
                if host.incarnation == payload and host.up:
                    queue.after(tick_us, TICK, target, payload)
                    cluster.tick(host)
            elif kind == SYNC:
                cluster.on_sync(hosts[target], *payload)
            elif kind == TO_CLIENT:
                self.delivered += 1
                traffic.on_reply(clients[target], payload[0], payload[1])
            elif kind == CLIENT_TIMEOUT:
                traffic.on_timeout(clients[target], payload[0], payload[1])
            elif kind == CLIENT_NEXT:
                traffic.on_next(clients[target])
            elif kind == FAULT:
                self.injector.on_planned(payload)
            elif kind == CONTROL:
                self._on_control(payload)
            else:
                raise AssertionError(f"unknown event kind {kind}")

    # ---- phases -----------------------------------------------------------------------------
    def _on_control(self, what: int) -> None:
        if what == _END_FAULT_PHASE:
            self.injector.heal_all()
            self.phase = _TAIL
            self._on_check()
        elif what == _CHECK:
            self._on_check()

    def _on_check(self) -> None:
        now = self.queue.now_us
        if self.phase == _TAIL:
            if self.traffic.all_issued():
                self.phase = _CONVERGE
                self.traffic.issuing = False
                self._converge_deadline_us = now + self.options.convergence_us_max
                if self.transcript is not None:
                    self.transcript.add(now, "phase convergence")
            elif now >= self._tail_deadline_us:
                self.violations.append(
                    f"liveness: t={now}us clients still had {self.traffic.ops_left()} operations "
                    f"to issue {self.options.convergence_us_max}us after the fault phase ended"
                )
                self.phase = _DONE
                return
        if self.phase == _CONVERGE:
            if is_converged(self.cluster, self.traffic, self.chosen, self.applied):
                self.converged = True
                self.phase = _DONE
                return
            if now >= self._converge_deadline_us:
                self.phase = _DONE
                return
        self.queue.after(CHECK_INTERVAL_US, CONTROL, 0, _CHECK)

    # ---- the end ----------------------------------------------------------------------------
    def _finish(self) -> None:
        self.violations.extend(
            final_violations(
                self.queue.now_us,
                converged=self.converged,
                earlier=self.violations,
                members=self.members,
                cluster=self.cluster,
                traffic=self.traffic,
                chosen=self.chosen,
                applied=self.applied,
            )
        )

    def _result(self) -> SimResult:
        return build_result(
            self.options,
            queue=self.queue,
            network=self.network,
            cluster=self.cluster,
            traffic=self.traffic,
            chosen=self.chosen,
            applied=self.applied,
            ballots=self.ballots,
            coverage=self.coverage,
            violations=self.violations,
            delivered=self.delivered,
            fault_events=self.injector.fault_events,
            transcript=self.transcript,
            protocol=self.protocol.name,
            quorums=self.quorums,
            protocol_options=self.protocol_options,
        )
