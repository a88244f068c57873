"""The CI sweep: seeds 1..2000 in 20 chunks of 100, every one clean and not vacuous; and the
same checks over seeds 1..300 with Flexible Paxos quorums (5 nodes, phase 1 on 4, phase 2 on 2)
and with WPaxos grid quorums (6 nodes in 3 zones, one zone may fail). WPaxos itself runs its
own sweeps: majority quorums with each migration policy, and grids of 3 zones with fz = 0 and
fz = 1 (the key-value workload: WPaxos has no single order for the lock and election ones).

Every seed must report no violation, issue at least 200 client operations and fire at least 10
faults; each chunk must see every coverage counter in at least 5% of its seeds (so the whole
sweep does too), and every workload. Most seeds of the lock and election workloads must show
their hard paths: a lease expired by the leader's clock command with no other traffic, a waiter
granted the lock, and a fenced write refused for a stale token. A failing chunk lists each
failing seed with the command that replays it.
"""

from __future__ import annotations

import math

import pytest

from pyxos.core.protocols import DEFAULT_PROTOCOL
from pyxos.core.quorum import MAJORITY, QuorumSpec, parse_quorums
from pyxos.sim import run_seed
from pyxos.sim.options import WORKLOAD_ELECTION, WORKLOAD_KV, WORKLOAD_LOCK, WORKLOADS
from pyxos.sim.result import coverage_counters

SEEDS = 2000
CHUNK = 100
COVERAGE_PERCENT_MIN = 5.0
LOCK_NOTES = ("lease_clock", "waiter_granted", "stale_token_refused")
LOCK_NOTES_PERCENT_MIN = 80.0


QUORUM_SEEDS = 300
QUORUM_SWEEPS = {
    "flexible": (parse_quorums("flexible:q1=4,q2=2"), 5),
    "grid": (parse_quorums("grid:zones=3,fz=1,fn=0"), 6),
}


WPAXOS_SWEEPS: dict[str, tuple[int, QuorumSpec, int | None, str]] = {
    # name: (seeds, quorums, nodes (None: drawn, 3 or 5), migration policy)
    "majority-adaptive": (300, MAJORITY, None, "majority"),
    "majority-immediate": (200, MAJORITY, None, "immediate"),
    "majority-consecutive": (100, MAJORITY, None, "consecutive"),
    "majority-ema": (100, MAJORITY, None, "ema"),
    "grid-fz0": (200, parse_quorums("grid:zones=3,fz=0,fn=0"), 6, "majority"),
    "grid-fz1": (200, parse_quorums("grid:zones=3,fz=1,fn=1"), 9, "immediate"),
}
WPAXOS_CHUNKS = [
    (name, first) for name, sweep in WPAXOS_SWEEPS.items() for first in range(1, sweep[0], CHUNK)
]


@pytest.mark.seeds
@pytest.mark.parametrize("first", range(1, SEEDS + 1, CHUNK), ids=lambda s: f"seeds{s}")
def test_seed_chunk(first: int) -> None:
    check_chunk(first)


@pytest.mark.seeds
@pytest.mark.parametrize("first", range(1, QUORUM_SEEDS + 1, CHUNK), ids=lambda s: f"seeds{s}")
@pytest.mark.parametrize("kind", sorted(QUORUM_SWEEPS))
def test_seed_chunk_with_other_quorums(kind: str, first: int) -> None:
    quorums, nodes = QUORUM_SWEEPS[kind]
    check_chunk(first, quorums=quorums, nodes=nodes)


@pytest.mark.seeds
@pytest.mark.parametrize(("sweep", "first"), WPAXOS_CHUNKS, ids=str)
def test_wpaxos_seed_chunk(sweep: str, first: int) -> None:
    _, quorums, nodes, policy = WPAXOS_SWEEPS[sweep]
    check_chunk(
        first,
        quorums=quorums,
        nodes=nodes,
        protocol="wpaxos",
        protocol_options=(("policy", policy),),
    )


def check_chunk(
    first: int,
    *,
    quorums: QuorumSpec = MAJORITY,
    nodes: int | None = None,
    protocol: str = DEFAULT_PROTOCOL,
    protocol_options: tuple[tuple[str, str], ...] = (),
) -> None:
    seeds = range(first, first + CHUNK)
    overrides = {} if nodes is None else {"nodes": nodes}
    failures: list[str] = []
    hits = dict.fromkeys(coverage_counters(protocol), 0)
    sizes = set()
    workloads = set()
    lock_seeds = 0
    lock_hits = dict.fromkeys(LOCK_NOTES, 0)
    for seed in seeds:
        result = run_seed(
            seed,
            quorums=quorums,
            protocol=protocol,
            protocol_options=protocol_options,
            **overrides,
        )
        sizes.add(result.options.nodes)
        workloads.add(result.options.workload)
        if result.options.workload in (WORKLOAD_LOCK, WORKLOAD_ELECTION):
            lock_seeds += 1
            for name in LOCK_NOTES:
                lock_hits[name] += result.stats.notes.get(name, 0) > 0
        problems = list(result.violations)
        if result.stats.ops_issued < 200:
            problems.append(f"only {result.stats.ops_issued} client operations")
        if result.stats.fault_events < 10:
            problems.append(f"only {result.stats.fault_events} fault events")
        if problems:
            failures.append(
                f"seed {seed}: {len(problems)} problems, first: {problems[0].splitlines()[0]}\n"
                f"  replay: {result.replay}"
            )
        for name, hit in result.coverage.items():
            hits[name] += hit
    assert not failures, "\n".join(failures)
    needed = math.ceil(CHUNK * COVERAGE_PERCENT_MIN / 100)
    low = {name: count for name, count in hits.items() if count < needed}
    assert not low, f"coverage below {COVERAGE_PERCENT_MIN}% of seeds {first}..{seeds[-1]}: {low}"
    if nodes is None:
        assert sizes == {3, 5}, f"seeds {first}..{seeds[-1]} do not mix 3- and 5-node clusters"
    every = {WORKLOAD_KV} if protocol == "wpaxos" else set(range(len(WORKLOADS)))
    assert workloads == every, f"seeds {first}..{seeds[-1]}: {workloads}"
    needed = math.ceil(lock_seeds * LOCK_NOTES_PERCENT_MIN / 100)
    low = {name: count for name, count in lock_hits.items() if count < needed}
    assert not low, f"lock paths in too few of the {lock_seeds} lock seeds: {low}"
