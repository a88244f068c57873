"""`run_wan_bench`: a protocol on a simulated wide-area network, measured in virtual time.

Theory of operation. The cluster is `zones x nodes_per_zone` real nodes with zone-style ids
(`zone * 1000 + n`), placed on the sites of a `Topology` (`pyxos.sim.wan`: the papers' five
AWS regions by default), so WPaxos sees the zones and grid quorums are built over them. Site
order decides which zone number each site gets: the leader zone (`leader_zone`) gets zone 1,
the lowest ids, and Multi-Paxos' view 0 is led by the lowest member id, so its first leader
sits there (it keeps the lead unless it fails). Every zone has `clients_per_zone` closed-loop
clients (`pyxos.sim.wan_workload`) that talk to their own zone's first node (and the others
of their zone when it does not answer) and never think between operations.

The run is the simulator's machinery without its fault plan: the runtime's effect executor,
simulated disks, the event queue, the `Cluster` and the client traffic, and the agreement
checkers (`ChosenValues`, `AppliedPrefixes`, `MonotoneBallots`) watching every durable record
and every application. A warm-up, then the measured interval; optionally one zone is cut away
(`zone_loss_at_s` after the warm-up) until the end. Then issuing stops, the partition heals and
the run drains: every pending operation must finish and the nodes agree within
`drain_us_max`, and every acknowledged write must be in every node's log. The linearizability
search is left out unless asked for (`check_linearizability`): its cost grows with the history.

Everything is drawn from `Random(seed)` in a fixed order (the network, each disk, each client,
the nodes, the tick phases), so one seed gives one run.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from random import Random

from pyxos.check.history import Operation
from pyxos.core.protocol import ExecutionOrder
from pyxos.core.protocols import protocol_spec
from pyxos.core.quorum import MAJORITY, QuorumSpec, QuorumSystem
from pyxos.faults import Heal
from pyxos.sim.checkers import AppliedPrefixes, ChosenValues, MonotoneBallots
from pyxos.sim.cluster import Cluster, build_hosts
from pyxos.sim.coverage import Coverage
from pyxos.sim.events import (
    CLIENT_NEXT,
    CLIENT_TIMEOUT,
    CONTROL,
    DELIVER,
    SYNC,
    TICK,
    TO_CLIENT,
    TURN,
    EventQueue,
)
from pyxos.sim.host import node_factory
from pyxos.sim.network import SimNetwork
from pyxos.sim.options import WORKLOAD_KV, SimOptions
from pyxos.sim.outcome import final_violations, is_converged
from pyxos.sim.traffic import AnyClient, ClientTraffic
from pyxos.sim.verdict import linearizability_violations
from pyxos.sim.wan import ZONE_ID_STRIDE, Topology, isolate_zone, paper_topology
from pyxos.sim.wan_figures import LossFigures, ZoneFigures, loss_figures, zone_figures
from pyxos.sim.wan_workload import (
    WORKLOADS,
    ConflictKeys,
    KeyChooser,
    NormalKeys,
    UniformKeys,
    WanClient,
    zone_mean,
)

CLIENT_ADDRESS_BASE = 100_000
"""Client `c` of zone `z` (both from 1) has address `100000 + z * 1000 + c`: far above every
zone-style node id, so an address names one thing."""
CLIENTS_START_US = 250_000
"""The clients start this long after the nodes: time for Multi-Paxos' first leader to run
phase 1 across the wide area, so that no first request is lost to a cluster still booting
(its client would wait for its timeout, and the warm-up would have to cover that)."""
CHECK_INTERVAL_US = 10_000
"""While draining, how often the run looks for convergence."""
WAN_NOTES = ("acquire", "steal", "forward", "handover", "deposed", "steal_on_timeout")
"""The `Note` kinds counted in the report (WPaxos' ownership moves)."""

# CONTROL payloads
_END = 0
_LOSS = 1
_CHECK = 2
_CLIENTS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class WanBenchOptions:
    """One benchmark run. Times are virtual. Raises `ValueError` for a value out of range."""

    seed: int = 1
    zones: int = 5
    nodes_per_zone: int = 3
    clients_per_zone: int = 20
    duration_s: float = 3.0
    warmup_s: float = 2.0
    protocol: str = "multipaxos"
    quorums: QuorumSpec | None = None
    """None: a grid with fz = 0, fn = 1 for a protocol with a log per object, else majority."""
    protocol_options: tuple[tuple[str, str], ...] = ()
    leader_zone: str | None = None
    """The site that gets zone 1 (the lowest ids); None: the topology's first site."""
    workload: str = "uniform"
    keys: int = 1000
    sigma: float = 100.0
    move: bool = False
    speed_ms: int = 500
    conflict_percent: int = 0
    write_ratio: float = 1.0
    think_ms: float = 0.0
    """A client's mean pause between operations (uniform, up to twice this); 0: none."""
    zone_loss_at_s: float | None = None
    lost_zone: str | None = None
    """The site cut away at `zone_loss_at_s`; None: the leader zone."""
    lan_rtt_us: int = 400
    jitter_us: int = 2_000
    step_cost_us: int = 20
    disk_latency_us_min: int = 100
    disk_latency_us_max: int = 500
    client_timeout_us_min: int = 1_000_000
    client_timeout_us_max: int = 1_500_000
    drain_us_max: int = 20_000_000
    check_linearizability: bool = False
    topology: Topology | None = field(default=None, compare=False)
    """None: the first `zones` of the papers' sites."""

    def __post_init__(self) -> None:
        for name in ("zones", "nodes_per_zone", "clients_per_zone", "keys", "step_cost_us"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.duration_s <= 0 or self.warmup_s < 0:
            raise ValueError("the duration must be positive and the warm-up not negative")
        if self.workload not in WORKLOADS:
            raise ValueError(f"unknown workload {self.workload!r}: use one of {WORKLOADS}")
        if self.sigma < 0:
            raise ValueError("sigma must not be negative")
        if self.speed_ms < 1:
            raise ValueError("speed_ms must be at least 1")
        if not 0 <= self.conflict_percent <= 100:
            raise ValueError("the conflict percentage must be within 0..100")
        if not 0.0 <= self.write_ratio <= 1.0:
            raise ValueError("the write ratio must be within 0..1")
        if self.think_ms < 0:
            raise ValueError("the think time must not be negative")
        if self.nodes_per_zone >= ZONE_ID_STRIDE or self.clients_per_zone >= ZONE_ID_STRIDE:
            raise ValueError(f"at most {ZONE_ID_STRIDE - 1} nodes and clients per zone")
        if self.zone_loss_at_s is not None and not 0 < self.zone_loss_at_s < self.duration_s:
            raise ValueError(
                "the zone loss (--zone-loss-at-s) must come after the warm-up and before the end "
                "of the measured interval"
            )
        if self.lost_zone is not None and self.zone_loss_at_s is None:
            raise ValueError("a lost zone needs the time of its loss (--zone-loss-at-s)")
        if not 0 <= self.disk_latency_us_min <= self.disk_latency_us_max:
            raise ValueError("need 0 <= disk_latency_us_min <= disk_latency_us_max")
        if not 0 < self.client_timeout_us_min <= self.client_timeout_us_max:
            raise ValueError("need 0 < client_timeout_us_min <= client_timeout_us_max")
        spec = protocol_spec(self.protocol)  # UnknownProtocol is a ValueError
        spec.check_options(self.protocol_options)
        topology = self.site_topology()
        if len(topology.sites) != self.zones:
            raise ValueError(f"the topology has {len(topology.sites)} sites, not {self.zones}")
        for zone in (self.leader_zone, self.lost_zone):
            if zone is not None:
                topology.zone_named(zone)
        by_zone = node_ids(self)
        self.quorum_spec().build(tuple(sorted(i for ids in by_zone.values() for i in ids)), by_zone)

    def site_topology(self) -> Topology:
        if self.topology is not None:
            return self.topology
        return paper_topology(self.zones, lan_rtt_us=self.lan_rtt_us, jitter_us=self.jitter_us)

    def quorum_spec(self) -> QuorumSpec:
        if self.quorums is not None:
            return self.quorums
        if protocol_spec(self.protocol).order is ExecutionOrder.PER_OBJECT:
            return QuorumSpec(kind="grid", fz=0, fn=min(1, self.nodes_per_zone - 1))
        return MAJORITY


@dataclass(frozen=True, slots=True, kw_only=True)
class WanReport:
    """A run's figures, its WPaxos counters and its checkers' verdict."""

    options: WanBenchOptions
    quorums: str
    leader_zone: str
    zones: tuple[ZoneFigures, ...]
    overall: ZoneFigures
    notes: dict[str, int]
    """`WAN_NOTES` counted in the measured interval."""
    loss: tuple[LossFigures, ...]
    lost_zone: str | None
    violations: tuple[str, ...]
    converged: bool
    events: int
    messages_sent: int
    virtual_s: float


def run_wan_bench(options: WanBenchOptions) -> WanReport:
    """Run the benchmark `options` describe; pure and deterministic from `options.seed`."""
    return _WanRun(options).run()


def zone_ids(options: WanBenchOptions) -> tuple[int, ...]:
    """Site index of each zone number - 1: the leader zone first, the others in site order."""
    topology = options.site_topology()
    order = list(range(len(topology.sites)))
    if options.leader_zone is not None:
        first = topology.zone_named(options.leader_zone)
        order.remove(first)
        order.insert(0, first)
    return tuple(order)


def node_ids(options: WanBenchOptions) -> dict[int, tuple[int, ...]]:
    """Each zone number's node ids: `zone * 1000 + n`, zones and nodes numbered from 1."""
    return {
        zone: tuple(zone * ZONE_ID_STRIDE + n for n in range(1, options.nodes_per_zone + 1))
        for zone in range(1, options.zones + 1)
    }


class _WanRun:
    def __init__(self, options: WanBenchOptions) -> None:
        self.options = options
        spec = protocol_spec(options.protocol)
        protocol_options = spec.check_options(options.protocol_options)
        rng = Random(options.seed)
        sites = zone_ids(options)
        self.sites = sites
        # Nodes: zone number z (1-based) sits on site sites[z - 1].
        by_zone = node_ids(options)
        placement: dict[int, int] = {}
        for number, site in enumerate(sites, start=1):
            placement.update(dict.fromkeys(by_zone[number], site))
        members = tuple(sorted(placement))
        self.members = members
        self.by_zone = by_zone
        quorum_spec = options.quorum_spec()
        self.quorum_spec = quorum_spec
        system: QuorumSystem = quorum_spec.build(members, by_zone)
        sim_options = _sim_options(options, len(members))
        self.queue = EventQueue()
        self.topology = options.site_topology()
        client_zone = {
            CLIENT_ADDRESS_BASE + number * ZONE_ID_STRIDE + c: site
            for number, site in enumerate(sites, start=1)
            for c in range(1, options.clients_per_zone + 1)
        }
        self.topology = self.topology.placed({**placement, **client_zone})
        self.network = SimNetwork(
            Random(rng.getrandbits(64)), delay_us_min=0, delay_us_max=0, topology=self.topology
        )
        hosts = build_hosts(
            sim_options,
            members,
            rng,
            quorums=system,
            protocol=spec,
            protocol_options=protocol_options,
        )
        self.hosts = hosts
        self.clients = self._build_clients(rng)
        node_rng = Random(rng.getrandbits(64))
        tick_rng = Random(rng.getrandbits(64))
        think_rng = Random(rng.getrandbits(64))
        self.chosen = ChosenValues(system)
        self.applied = AppliedPrefixes(self.chosen)
        self.ballots = MonotoneBallots()
        self.coverage = Coverage()
        self.violations: list[str] = []
        self.tick_us = sim_options.tick_ms * 1000
        self.cluster = Cluster(
            hosts,
            factory=node_factory(spec),
            protocol=spec,
            queue=self.queue,
            network=self.network,
            transcript=None,
            chosen=self.chosen,
            applied=self.applied,
            ballots=self.ballots,
            coverage=self.coverage,
            violations=self.violations,
            node_rng=node_rng,
            tick_rng=tick_rng,
            tick_us=self.tick_us,
            turn_inputs_max=sim_options.turn_inputs_max,
            step_cost_us=sim_options.step_cost_us,
        )
        self.traffic = ClientTraffic(
            self.clients,
            queue=self.queue,
            network=self.network,
            transcript=None,
            think_rng=think_rng,
            # 1: no think time at all, the next operation goes out at once
            think_us_max=max(1, round(options.think_ms * 2000)),
        )
        self.start_us = round(options.warmup_s * 1e6)
        self.end_us = self.start_us + round(options.duration_s * 1e6)
        self.loss_us: int | None = None
        self.lost_site: int | None = None
        if options.zone_loss_at_s is not None:
            self.loss_us = self.start_us + round(options.zone_loss_at_s * 1e6)
            name = options.lost_zone
            self.lost_site = sites[0] if name is None else self.topology.zone_named(name)
        self.draining = False
        self.drain_deadline_us = 0
        self.done = False
        self.converged = False
        self.notes_at_start: dict[str, int] = {}

    def _build_clients(self, rng: Random) -> dict[int, AnyClient]:
        options = self.options
        clients: dict[int, AnyClient] = {}
        speed_us = options.speed_ms * 1000 if options.move else None
        for number, site in enumerate(self.sites, start=1):
            for c in range(1, options.clients_per_zone + 1):
                address = CLIENT_ADDRESS_BASE + number * ZONE_ID_STRIDE + c
                client_rng = Random(rng.getrandbits(64))
                chooser: KeyChooser
                if options.workload == "normal":
                    mu = zone_mean(site, options.zones, options.keys)
                    chooser = NormalKeys(
                        options.keys, mu, options.sigma, client_rng, speed_us=speed_us
                    )
                elif options.workload == "conflict":
                    own = site * options.clients_per_zone + c  # 1.., never the hot key 0
                    chooser = ConflictKeys(options.conflict_percent, own, client_rng)
                else:
                    chooser = UniformKeys(options.keys, client_rng)
                clients[address] = WanClient(
                    address,
                    client_rng,
                    zone=site,
                    nodes=self.by_zone[number],
                    chooser=chooser,
                    write_ratio=options.write_ratio,
                    ops=1 << 60,  # closed loops run until the end
                    timeout_us_min=options.client_timeout_us_min,
                    timeout_us_max=options.client_timeout_us_max,
                )
        return clients

    # ---- the loop -----------------------------------------------------------------------------
    def run(self) -> WanReport:
        try:
            self._start()
            self._loop()
            self._finish()
        except Exception as exc:  # a node's invariant check, or a bug in the driver
            frames = traceback.format_exception(exc)
            self.violations.append(
                f"t={self.queue.now_us}us exception: {type(exc).__name__}: {exc}\n"
                + "".join(frames[-6:]).rstrip()
            )
        return self._report()

    def _start(self) -> None:
        for node_id in self.members:
            self.cluster.boot(self.hosts[node_id])
        self.queue.push(CLIENTS_START_US, CONTROL, 0, _CLIENTS)
        self.queue.push(self.start_us, CONTROL, 0, _CHECK)  # the warm-up's end
        if self.loss_us is not None:
            self.queue.push(self.loss_us, CONTROL, 0, _LOSS)
        self.queue.push(self.end_us, CONTROL, 0, _END)

    def _loop(self) -> None:
        queue = self.queue
        hosts = self.hosts
        clients = self.clients
        cluster = self.cluster
        traffic = self.traffic
        tick_us = self.tick_us
        while queue and not self.done:
            _, _, kind, target, payload = queue.pop()
            if kind == DELIVER:
                host = hosts[target]
                if host.up:
                    cluster.deliver(host, payload)
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
                traffic.on_reply(clients[target], payload[0], payload[1])
            elif kind == CLIENT_TIMEOUT:
                traffic.on_timeout(clients[target], payload[0], payload[1])
            elif kind == CLIENT_NEXT:
                traffic.on_next(clients[target])
            elif kind == CONTROL:
                self._on_control(payload)
            else:
                raise AssertionError(f"unknown event kind {kind}")

    def _on_control(self, what: int) -> None:
        now = self.queue.now_us
        if what == _CLIENTS:
            for address in sorted(self.clients):  # each sends its first operation now
                self.traffic.on_next(self.clients[address])
        elif what == _LOSS:
            assert self.lost_site is not None
            addresses = (*self.members, *self.clients)
            self.network.apply(isolate_zone(self.topology, self.lost_site, addresses))
        elif what == _END:
            self.traffic.issuing = False
            self.network.apply(Heal())
            self.draining = True
            self.drain_deadline_us = now + self.options.drain_us_max
            self.queue.after(CHECK_INTERVAL_US, CONTROL, 0, _CHECK)
        elif what == _CHECK:
            if not self.draining:  # the warm-up's end
                self.notes_at_start = dict(self.coverage.notes)
                return
            if is_converged(self.cluster, self.traffic, self.chosen, self.applied):
                self.converged = True
                self.done = True
            elif now >= self.drain_deadline_us:
                self.done = True
            else:
                self.queue.after(CHECK_INTERVAL_US, CONTROL, 0, _CHECK)

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
        if self.options.check_linearizability:
            found, _ = linearizability_violations(self.traffic.history())
            self.violations.extend(found)

    # ---- the figures --------------------------------------------------------------------------
    def _report(self) -> WanReport:
        options = self.options
        sites = self.topology.sites
        by_site = _histories_by_site(self.clients)
        start, end = self.start_us, self.end_us
        zones = tuple(
            zone_figures(sites[site], by_site.get(site, []), start_us=start, end_us=end)
            for site in range(len(sites))
        )
        everyone = [op for site in sorted(by_site) for op in by_site[site]]
        overall = zone_figures("all", everyone, start_us=start, end_us=end)
        loss: tuple[LossFigures, ...] = ()
        if self.loss_us is not None:
            loss = tuple(
                loss_figures(
                    sites[site],
                    by_site.get(site, []),
                    start_us=start,
                    loss_us=self.loss_us,
                    end_us=end,
                )
                for site in range(len(sites))
            )
        notes = self.coverage.notes
        counted = {
            kind: notes.get(kind, 0) - self.notes_at_start.get(kind, 0) for kind in WAN_NOTES
        }
        return WanReport(
            options=options,
            quorums=self.quorum_spec.describe(),
            leader_zone=sites[self.sites[0]],
            zones=zones,
            overall=overall,
            notes=counted,
            loss=loss,
            lost_zone=None if self.lost_site is None else sites[self.lost_site],
            violations=tuple(self.violations),
            converged=self.converged,
            events=self.queue.popped,
            messages_sent=self.network.sent,
            virtual_s=round(self.queue.now_us / 1e6, 3),
        )


def _histories_by_site(clients: Mapping[int, AnyClient]) -> dict[int, list[Operation]]:
    by_site: dict[int, list[Operation]] = {}
    for address in sorted(clients):
        client = clients[address]
        if isinstance(client, WanClient):
            by_site.setdefault(client.zone, []).extend(client.history)
            pending = client.pending()
            if pending is not None:
                by_site[client.zone].append(pending)
    return by_site


def _sim_options(options: WanBenchOptions, nodes: int) -> SimOptions:
    """The simulator's options the hosts are built from: timers sized for round trips of a few
    hundred milliseconds, and no fault plan (this driver fires its own zone loss)."""
    return SimOptions(
        seed=options.seed,
        nodes=nodes,
        clients=options.zones * options.clients_per_zone,
        ops=0,
        keys=options.keys,
        partition_episodes=0,
        crash_episodes=0,
        network_episodes=0,
        drop_p=0.0,
        duplicate_p=0.0,
        crash_down_us_min=0,
        crash_down_us_max=0,
        delay_us_min=0,
        delay_us_max=0,
        spike_delay_us_max=0,
        disk_latency_us_min=options.disk_latency_us_min,
        disk_latency_us_max=options.disk_latency_us_max,
        # A heartbeat every 50 ms; a leader unheard for 500 ms (twice the longest round trip
        # and more) is replaced; what a quorum has not answered in 300 ms is sent again.
        heartbeat_ticks=5,
        election_timeout_ticks_min=50,
        election_timeout_ticks_jitter=10,
        retransmit_ticks=30,
        snapshot_every_slots=10_000,
        corruptions=0,
        tick_ms=10,
        fault_phase_us=0,
        convergence_us_max=options.drain_us_max,
        client_timeout_us_min=options.client_timeout_us_min,
        client_timeout_us_max=options.client_timeout_us_max,
        turn_inputs_max=64,
        step_cost_us=options.step_cost_us,
        thrifty=0,
        workload=WORKLOAD_KV,
    )
