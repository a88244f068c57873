"""The simulator has teeth: each planted protocol bug is reported within 200 seeds, and each
planted lock bug within 20 seeds of the lock workloads.

Each test swaps one small rule of the core for a broken one (the rules are module-level functions
so that this is a one-line patch) and runs seeds until a checker reports a violation. A run that
finds nothing means the checkers or the fault schedule have gone blind to that class of bug.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import pytest

from pyxos.core.commands import NOOP, Batch
from pyxos.core.ids import Ballot, NodeId
from pyxos.core.io import Effect, Persist, Send
from pyxos.core.multipaxos import acceptor, leader, replica
from pyxos.core.multipaxos.messages import AcceptedEntry
from pyxos.core.quorum import MAJORITY, Grid, QuorumSpec, QuorumSystem, flexible, parse_quorums
from pyxos.core.wpaxos import lead as wpaxos_lead
from pyxos.core.wpaxos.objects import ObjectLog
from pyxos.exec import gate
from pyxos.machines import locks, router
from pyxos.machines.base import ApplyContext
from pyxos.sim.options import WORKLOAD_ELECTION, WORKLOAD_LOCK
from pyxos.sim.runner import run_seed

SEEDS_MAX = 200


def first_failing_seed(
    seeds_max: int = SEEDS_MAX, quorums: QuorumSpec = MAJORITY, **overrides: int
) -> tuple[int, list[str]] | None:
    for seed in range(1, seeds_max + 1):
        result = run_seed(seed, quorums=quorums, **overrides)
        if result.violations:
            return seed, result.violations
    return None


def accepts_lower_ballots(promised: Ballot, ballot: Ballot) -> bool:
    del promised, ballot
    return True


def ignores_phase_1_values(entries: list[AcceptedEntry]) -> Batch:
    del entries
    return NOOP


def acknowledges_before_persisting(persist: Persist, answer: Send) -> list[Effect]:
    return [answer, persist]


@pytest.mark.parametrize(
    ("module", "name", "bug"),
    [
        (acceptor, "may_accept", accepts_lower_ballots),
        (leader, "choose_value", ignores_phase_1_values),
        (acceptor, "answer_after_persist", acknowledges_before_persisting),
    ],
    ids=["acceptor-accepts-lower-ballot", "leader-ignores-phase-1", "ack-before-persist"],
)
def test_a_planted_bug_is_reported(
    monkeypatch: pytest.MonkeyPatch, module: object, name: str, bug: Callable[..., object]
) -> None:
    monkeypatch.setattr(module, name, bug)
    found = first_failing_seed()
    assert found is not None, f"no violation in {SEEDS_MAX} seeds with {name} broken"
    seed, violations = found
    assert violations, seed


def releases_before_the_disk(marker: int, durable: int) -> bool:
    del marker, durable
    return True


def test_a_gate_that_releases_a_message_before_its_persist_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gate is the runtime's own (`pyxos.exec.gate`): a bug in it must not hide from the
    simulator behind a gate of the simulator's."""
    monkeypatch.setattr(gate, "passed", releases_before_the_disk)
    found = first_failing_seed()
    assert found is not None, f"no violation in {SEEDS_MAX} seeds with the gate broken"


def allows_any_sizes(q1_size: int, q2_size: int, n: int) -> None:
    del q1_size, q2_size, n


def test_flexible_quorums_that_do_not_intersect_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Phase-1 and phase-2 quorums of 2 among 5 nodes, forced past the configuration check:
    a new leader's phase 1 can miss a value chosen by a disjoint phase-2 quorum, and the safety
    checkers must see two values chosen in one slot."""
    monkeypatch.setattr(flexible, "check_sizes", allows_any_sizes)
    found = first_failing_seed(quorums=QuorumSpec(kind="flexible", q1=2, q2=2), nodes=5)
    assert found is not None, f"no violation in {SEEDS_MAX} seeds with disjoint quorums"
    assert any("chosen" in v for v in found[1]), found


def test_a_rebuilt_node_that_votes_at_once_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node rebuilt after corruption has forgotten its votes; voting before the rejoin rule
    allows it can lose a chosen value. Rebuilds happen in about half the seeds, and the lost
    vote must also have mattered, so this bug needs more seeds than the others."""
    real_init = replica.Replica.__init__

    def amnesiac_init(self: replica.Replica, *args: object, **kwargs: object) -> None:
        kwargs.pop("rejoining", None)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(replica.Replica, "__init__", amnesiac_init)
    found = first_failing_seed(seeds_max=400)
    assert found is not None, "no violation in 400 seeds with the rejoin rule switched off"


# ---- the lock machine ------------------------------------------------------------------------
LOCK_SEEDS_MAX = 20


def fences_with_any_token_once_granted(
    self: locks.LockMachine, name: str, token: int, inner: bytes, ctx: ApplyContext
) -> locks.LockResult:
    """A fenced write checks that the token was granted at some time, not that it is current."""
    lock = self._locks.get(name)
    if self.protected is None or lock is None or token > lock.token:
        return self._describe(name, ctx.time_ms, error=locks.ERROR_STALE_TOKEN)
    return self._describe(name, ctx.time_ms, protected=self.protected.apply(inner, ctx))


real_advance = locks.LockMachine.advance
real_router_apply = router.Router.apply
_clock_command = [False]


def expires_only_on_the_clock(self: locks.LockMachine, ctx: ApplyContext) -> None:
    """Commands do not re-check leases at their own log time; only the leader's clock command
    expires them, so a command that comes first sees a lease that has ended as still held."""
    if _clock_command[0]:
        real_advance(self, ctx)


def flags_the_clock(self: router.Router, op: bytes, ctx: ApplyContext) -> bytes:
    _clock_command[0] = op == router.CLOCK_OP
    try:
        return real_router_apply(self, op, ctx)
    finally:
        _clock_command[0] = False


@pytest.mark.parametrize("workload", [WORKLOAD_LOCK, WORKLOAD_ELECTION], ids=["lock", "election"])
def test_a_fenced_write_under_an_old_token_is_reported(
    monkeypatch: pytest.MonkeyPatch, workload: int
) -> None:
    monkeypatch.setattr(locks.LockMachine, "_guarded", fences_with_any_token_once_granted)
    found = first_failing_seed(LOCK_SEEDS_MAX, workload=workload)
    assert found is not None, f"no violation in {LOCK_SEEDS_MAX} seeds with old tokens fencing"


def test_a_lease_not_rechecked_at_the_command_time_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(locks.LockMachine, "advance", expires_only_on_the_clock)
    monkeypatch.setattr(router.Router, "apply", flags_the_clock)
    found = first_failing_seed(LOCK_SEEDS_MAX, workload=WORKLOAD_LOCK)
    assert found is not None, f"no violation in {LOCK_SEEDS_MAX} seeds with leases unchecked"


# ---- WPaxos -----------------------------------------------------------------------------------
WPAXOS_SEEDS_MAX = 100


def first_failing_wpaxos_seed(
    quorums: QuorumSpec = MAJORITY, policy: str = "immediate", **overrides: int
) -> tuple[int, list[str]] | None:
    for seed in range(1, WPAXOS_SEEDS_MAX + 1):
        result = run_seed(
            seed,
            quorums=quorums,
            protocol="wpaxos",
            protocol_options=(("policy", policy),),
            **overrides,
        )
        if result.violations:
            return seed, result.violations
    return None


def completes_on_its_own_promise(quorums: QuorumSystem, promised: Collection[NodeId]) -> bool:
    del quorums
    return len(promised) >= 1


def test_a_wpaxos_steal_that_skips_phase_1_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A node that takes an object on its own promise alone never learns what the previous
    owner's phase-2 quorum accepted: it proposes over chosen values, and the checkers must see
    two values chosen for one slot of an object (or a lost acknowledged write)."""
    monkeypatch.setattr(wpaxos_lead, "phase1_complete", completes_on_its_own_promise)
    found = first_failing_wpaxos_seed()
    assert found is not None, f"no violation in {WPAXOS_SEEDS_MAX} seeds with phase 1 skipped"


def test_wpaxos_quorums_that_do_not_intersect_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Phase-1 and phase-2 quorums of 2 among 5 nodes under WPaxos, forced past the check."""
    monkeypatch.setattr(flexible, "check_sizes", allows_any_sizes)
    found = first_failing_wpaxos_seed(quorums=QuorumSpec(kind="flexible", q1=2, q2=2), nodes=5)
    assert found is not None, f"no violation in {WPAXOS_SEEDS_MAX} seeds with disjoint quorums"
    assert any("chosen" in v for v in found[1]), found


def one_zone_short(self: Grid, acks: Collection[NodeId]) -> bool:
    """A grid's phase 1 that counts one zone fewer than it must: with fz = 0 it can miss the
    one zone that a phase-2 quorum used."""
    need = self.fn + 1
    full = sum(1 for zone in self.zones if len(set(zone).intersection(acks)) >= need)
    return full >= len(self.zones) - self.fz - 1


def test_a_wpaxos_grid_whose_phase_1_misses_a_zone_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Grid, "is_q1", one_zone_short)
    found = first_failing_wpaxos_seed(quorums=parse_quorums("grid:zones=3,fz=0,fn=0"), nodes=6)
    assert found is not None, f"no violation in {WPAXOS_SEEDS_MAX} seeds with a short grid"
    assert any("chosen" in v for v in found[1]), found


def forgets_what_peers_may_still_need(self: ObjectLog, applied: int) -> int:
    """Compaction that forgets every applied value, whether or not every member learned it."""
    upto = min(applied, self.delivered_upto)
    for slot in range(self.truncated + 1, upto + 1):
        self.decided.pop(slot, None)
        self.accepted.pop(slot, None)
    self.truncated = max(self.truncated, upto)
    return self.truncated + 1


def test_a_wpaxos_compaction_that_forgets_unlearned_values_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A node that forgets accepted values a lagging member has not learned can no longer
    report them in phase 1: a stealer then proposes over a chosen value."""
    monkeypatch.setattr(ObjectLog, "truncate", forgets_what_peers_may_still_need)
    found = first_failing_wpaxos_seed(policy="majority")
    assert found is not None, f"no violation in {WPAXOS_SEEDS_MAX} seeds with eager compaction"
