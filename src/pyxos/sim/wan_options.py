"""What one wide-area benchmark run is: its options, its nodes' ids by zone, and the simulator
options its hosts are built from (see `pyxos.sim.wan_bench`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyxos.core.protocol import ExecutionOrder
from pyxos.core.protocols import protocol_spec
from pyxos.core.quorum import MAJORITY, QuorumSpec
from pyxos.sim.options import WORKLOAD_KV, SimOptions
from pyxos.sim.wan import ZONE_ID_STRIDE, Topology, paper_topology
from pyxos.sim.wan_workload import WORKLOADS


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


def sim_options(options: WanBenchOptions, nodes: int) -> SimOptions:
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
