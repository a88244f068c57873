"""`SimOptions`: everything a run depends on besides its seed, expanded from the seed.

`expand_options(seed, **overrides)` draws every option from `Random(seed)` in a fixed order and
then applies the overrides, so overriding one option (`--nodes 5`) leaves the others as the seed
chose them. `RANGES` documents the range each option is drawn from; an override may leave it.
The run's own random generator continues the same `Random(seed)` stream after the options (see
`pyxos.sim.runner`), so one seed fixes the whole run.

The workload (`WORKLOADS`: what the clients do) is drawn from a generator of its own, keyed by
the seed, so that the options of every seed that runs the key-value workload are what they were
before the other workloads existed, and their runs are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from random import Random

WORKLOADS = ("kv", "lock", "election", "queue")
"""`workload` is an index into this: the clients' operations are KV reads and writes, contention
on one lock with fenced writes, leader election on a lock, or FIFO queues."""
WORKLOAD_KV, WORKLOAD_LOCK, WORKLOAD_ELECTION, WORKLOAD_QUEUE = range(len(WORKLOADS))
# The share of seeds running each workload other than KV.
_WORKLOAD_P = 0.1

RANGES: dict[str, tuple[float, float]] = {
    # cluster and workload
    "nodes": (3, 5),  # 3 or 5, never 4
    "clients": (3, 8),
    "ops": (200, 320),  # client operations in the whole run
    "keys": (3, 8),  # a small key space, so that operations conflict
    # fault schedule: every partition kind, crash+restart, and each network change once, then
    # extra episodes of a random kind up to these counts
    "partition_episodes": (5, 7),
    "crash_episodes": (1, 3),
    "network_episodes": (3, 5),
    "drop_p": (0.02, 0.25),  # loss probability during a drop episode
    "duplicate_p": (0.02, 0.25),  # duplication probability during a duplicate episode
    "crash_down_us_min": (100_000, 100_000),
    "crash_down_us_max": (1_500_000, 1_500_000),
    # network and disk
    "delay_us_min": (50, 500),
    "delay_us_max": (500, 5_000),
    "spike_delay_us_max": (20_000, 200_000),  # delays during a spike: delay_us_max..this
    "disk_latency_us_min": (50, 500),
    "disk_latency_us_max": (1_000, 8_000),
    # the replicas' timers (`ReplicaConfig`), in ticks; short timeouts mean more elections
    "heartbeat_ticks": (2, 5),
    "election_timeout_ticks_min": (10, 30),  # at least 2 * heartbeat_ticks
    "election_timeout_ticks_jitter": (1, 10),
    "retransmit_ticks": (3, 10),
    # the node snapshots every this many slots and compacts its log (small: compaction and
    # catch-up by snapshot happen in most runs)
    "snapshot_every_slots": (8, 60),
    # 1: one restarting node finds a flipped bit in its log, refuses to start, and is rebuilt
    "corruptions": (0, 1),
    # time
    "tick_ms": (10, 10),
    "fault_phase_us": (3_000_000, 6_000_000),
    "convergence_us_max": (30_000_000, 30_000_000),
    "client_timeout_us_min": (200_000, 200_000),
    "client_timeout_us_max": (500_000, 500_000),
    # how a node takes its inputs (`pyxos.exec.turns`): at most this many per turn, a third of
    # the seeds 1 (a flush after every input), a third 64 (the runtime's bound), the rest in
    # between; each input costs this much virtual time, so inputs queue behind a busy node
    "turn_inputs_max": (1, 64),
    "step_cost_us": (5, 100),
    # 1: Paxi's thrifty phase 2 (to a quorum first, the rest on retransmission), in a quarter
    # of the seeds
    "thrifty": (0, 1),
    # what the clients do: an index into WORKLOADS
    "workload": (0, len(WORKLOADS) - 1),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SimOptions:
    """One run's parameters. Times are virtual, in microseconds unless the name says otherwise."""

    seed: int
    nodes: int
    clients: int
    ops: int
    keys: int
    partition_episodes: int
    crash_episodes: int
    network_episodes: int
    drop_p: float
    duplicate_p: float
    crash_down_us_min: int
    crash_down_us_max: int
    delay_us_min: int
    delay_us_max: int
    spike_delay_us_max: int
    disk_latency_us_min: int
    disk_latency_us_max: int
    heartbeat_ticks: int
    election_timeout_ticks_min: int
    election_timeout_ticks_jitter: int
    retransmit_ticks: int
    snapshot_every_slots: int
    corruptions: int
    tick_ms: int
    fault_phase_us: int
    convergence_us_max: int
    client_timeout_us_min: int
    client_timeout_us_max: int
    turn_inputs_max: int
    step_cost_us: int
    thrifty: int
    workload: int  # last: it takes no draw from the seed's stream (`draw_workload`)

    def __post_init__(self) -> None:
        if not 0 <= self.workload < len(WORKLOADS):
            raise ValueError(f"workload must be within 0..{len(WORKLOADS) - 1}")
        for name in ("nodes", "clients", "keys", "tick_ms", "turn_inputs_max"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in (
            "ops",
            "partition_episodes",
            "crash_episodes",
            "network_episodes",
            "fault_phase_us",
            "convergence_us_max",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("drop_p", "duplicate_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        for low, high in (
            ("crash_down_us_min", "crash_down_us_max"),
            ("delay_us_min", "delay_us_max"),
            ("delay_us_max", "spike_delay_us_max"),
            ("disk_latency_us_min", "disk_latency_us_max"),
            ("client_timeout_us_min", "client_timeout_us_max"),
        ):
            if not 0 <= getattr(self, low) <= getattr(self, high):
                raise ValueError(f"need 0 <= {low} <= {high}")
        if self.client_timeout_us_min < 1:
            raise ValueError("client_timeout_us_min must be positive")
        if self.step_cost_us < 1:
            raise ValueError("step_cost_us must be positive")
        if self.thrifty not in (0, 1):
            raise ValueError("thrifty must be 0 or 1")

    def describe(self) -> str:
        """Every option but the seed, `name=value` separated by spaces, in declaration order."""
        return " ".join(
            f"{f.name}={getattr(self, f.name)}" for f in fields(self) if f.name != "seed"
        )

    def overrides_from(self, base: SimOptions) -> dict[str, int | float]:
        """The options that differ from `base` (what a replay command must repeat)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "seed" and getattr(self, f.name) != getattr(base, f.name)
        }


OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(SimOptions) if f.name != "seed")
FLOAT_OPTIONS: frozenset[str] = frozenset(("drop_p", "duplicate_p"))


def draw_options(rng: Random, seed: int) -> SimOptions:
    """Draw every option from `rng`, always in the same order and number of draws."""
    drawn: dict[str, int | float] = {}
    for name in OPTION_NAMES:
        low, high = RANGES[name]
        if name == "workload":
            drawn[name] = draw_workload(seed)
        elif name == "nodes":
            drawn[name] = rng.choice((3, 5))
        elif name == "election_timeout_ticks_min":
            # ReplicaConfig needs heartbeat_ticks <= half of the election timeout.
            drawn[name] = max(rng.randint(int(low), int(high)), 2 * int(drawn["heartbeat_ticks"]))
        elif name == "turn_inputs_max":
            third = rng.randrange(3)
            drawn[name] = (int(low), int(high), rng.randint(int(low) + 1, int(high) - 1))[third]
        elif name == "thrifty":
            drawn[name] = int(rng.random() < 0.25)
        elif name in FLOAT_OPTIONS:
            drawn[name] = round(rng.uniform(low, high), 3)
        else:
            drawn[name] = rng.randint(int(low), int(high))
    return SimOptions(seed=seed, **drawn)  # type: ignore[arg-type]


def draw_workload(seed: int) -> int:
    """The workload of `seed`, from a generator of its own (it takes no draw from the run's)."""
    roll = Random(f"workload-{seed}").random()
    return min(len(WORKLOADS) - 1, int(roll / _WORKLOAD_P) + 1) if roll < 3 * _WORKLOAD_P else 0


def expand_options(seed: int, **overrides: int | float) -> SimOptions:
    """The options of `seed`, with `overrides` (option name -> value) applied.

    Raises `ValueError` for an unknown option name or an invalid value.
    """
    return apply_overrides(draw_options(Random(seed), seed), overrides)


def apply_overrides(options: SimOptions, overrides: dict[str, int | float]) -> SimOptions:
    unknown = sorted(set(overrides) - set(OPTION_NAMES))
    if unknown:
        raise ValueError(f"unknown simulator option(s): {', '.join(unknown)}")
    if not overrides:
        return options
    return replace(options, **overrides)  # type: ignore[arg-type]
