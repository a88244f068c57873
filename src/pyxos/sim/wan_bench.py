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

from collections.abc import Mapping
from dataclasses import dataclass
from random import Random

from pyxos.check.history import Operation
from pyxos.core.protocols import protocol_spec
from pyxos.core.quorum import QuorumSystem
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
from pyxos.sim.outcome import final_violations, is_converged
from pyxos.sim.traffic import AnyClient, ClientTraffic
from pyxos.sim.verdict import exception_violation, linearizability_violations
from pyxos.sim.wan import ZONE_ID_STRIDE, isolate_zone
from pyxos.sim.wan_figures import LossFigures, ZoneFigures, loss_figures, zone_figures
from pyxos.sim.wan_options import WanBenchOptions, node_ids, sim_options, zone_ids
from pyxos.sim.wan_workload import (
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
        base = sim_options(options, len(members))
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
            base,
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
        self.tick_us = base.tick_ms * 1000
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
            turn_inputs_max=base.turn_inputs_max,
            step_cost_us=base.step_cost_us,
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
            self.violations.append(exception_violation(self.queue.now_us, exc))
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
