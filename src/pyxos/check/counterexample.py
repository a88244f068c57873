"""Shrinking a non-linearizable key history to a small counterexample that explains itself.

Plain 1-minimality ("removing any one operation makes it linearizable") rewards the wrong
answers: a read of "a" alone is not linearizable, so shrinking by removal drops the write of "a"
that made the read plausible and ends on `get -> "a"`, "a read of a value nobody wrote", even
when the real problem is that the read came too late. Indeed no counterexample containing both
the only write of a value and a read of it is 1-minimal that way.

So instead of removing operations, shrinking *relaxes* them, one level at a time:

    FULL    as recorded: within its interval, returning what it returned
    PINNED  (writes) within its interval, but what it returned is not checked
    FREE    (writes) at any time after its invocation, or never (the outcome is unknown)
    ABSENT  (reads) not there at all

Every step down makes a linearization easier to find, so "still not linearizable" is monotone:
once relaxing an operation makes the history linearizable, it does so in any more relaxed
history too. Greedy shrinking therefore ends 1-minimal after one pass, and it can first cut
whole stretches by binary search: everything completed after some time T (the prefix of the
history up to T is enough to fail), then everything completed before some time S.

The counterexample is the FULL operations (the core: what they returned is contradictory)
plus the PINNED writes (the context: only that they took effect when they did matters). It is
a sub-history of the key's operations as recorded, and not linearizable even when every other
operation of the key is FREE, that is whatever those did; so neither is the key's history.
Relaxing any one of its operations by one level makes it linearizable.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence

from pyxos.check.history import Operation
from pyxos.check.search import Verdict, check_key
from pyxos.check.shrink import shrink


class Level(enum.IntEnum):
    """How strictly an operation is held to its record (see the module doc)."""

    FULL = 3
    PINNED = 2
    FREE = 1
    ABSENT = 0


# States one shrinking check may explore, at least. Checks that free many writes at once can be
# far more expensive than the original search; an inconclusive one just keeps the stricter level.
CHECK_STATES = 50_000


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Counterexample:
    ops: tuple[Operation, ...]  # core and context, in time order
    context: tuple[Operation, ...]  # the PINNED writes among `ops`, in time order
    minimal: bool  # False if some check was inconclusive (budget), so a relaxation may remain


def relaxed(op: Operation, level: Level) -> Operation | None:
    """The operation `op` becomes at `level`; None when absent. PINNED keeps the record: the
    search is told separately not to check it (see `history_at`)."""
    match level:
        case Level.FULL | Level.PINNED:
            return op
        case Level.FREE:
            return dataclasses.replace(op, complete=None, output=None)
        case Level.ABSENT:
            return None


def history_at(
    ops: Sequence[Operation], levels: Sequence[Level]
) -> tuple[list[Operation], frozenset[int]]:
    """The history with each operation at its level, and the indices in it of the PINNED ones
    (for `check_key(..., blind=...)`)."""
    history: list[Operation] = []
    blind: set[int] = set()
    for op, level in zip(ops, levels, strict=True):
        changed = relaxed(op, level)
        if changed is not None:
            if level is Level.PINNED:
                blind.add(len(history))
            history.append(changed)
    return history, frozenset(blind)


def one_level_down(op: Operation, level: Level) -> Level:
    match level:
        case Level.FULL:
            return Level.PINNED if op.kind != "get" else Level.ABSENT
        case Level.PINNED:
            return Level.FREE
        case Level.FREE | Level.ABSENT:
            # Removing a write that may never happen anyway is not a relaxation: it takes away
            # an explanation, and the monotonicity everything here relies on would be lost.
            raise ValueError(f"{level.name} is as relaxed as an operation gets")


def initial_levels(ops: Sequence[Operation]) -> list[Level]:
    """The history as recorded: unknown outcomes are FREE (reads: ABSENT, they say nothing)."""
    return [
        Level.FULL if op.complete is not None else Level.FREE if op.kind != "get" else Level.ABSENT
        for op in ops
    ]


def minimise(ops: Sequence[Operation], *, max_states: int, hint: int = 0) -> Counterexample:
    """Shrink the operations of one non-linearizable key.

    A quarter of `max_states` bounds the search states explored in all (shrinking only makes the
    report nicer, it should not cost more than the verdict), and each check may explore
    `max(CHECK_STATES, 2 * hint)` of them (`hint`: what deciding the whole key took). An
    inconclusive check counts as "still linearizable": the result is always a violation, but
    then maybe not minimal.
    """
    universe = sorted(ops, key=time_order)
    levels = initial_levels(universe)
    budget = max(max_states // 4, 1)
    per_check = max(CHECK_STATES, 2 * hint)
    minimal = True

    def violation(trial: Sequence[Level]) -> bool:
        nonlocal budget, minimal
        if budget <= 0:
            minimal = False
            return False
        history, blind = history_at(universe, trial)
        verdict, explored = check_key(history, max_states=min(budget, per_check), blind=blind)
        if verdict is Verdict.UNDECIDED:
            minimal = False
        budget -= max(explored, 1)
        return verdict is Verdict.VIOLATION

    def relax_all_but(kept: Sequence[int], among: Sequence[int]) -> list[Level]:
        trial = list(levels)
        keep = set(kept)
        for i in among:
            if i not in keep:
                trial[i] = one_level_down(universe[i], levels[i])
        return trial

    def reduce(among: list[int], cut_key: Callable[[int], int]) -> None:
        # Relax, by one level, the longest prefix of `among` in `cut_key` order that keeps the
        # violation (binary search: monotone), then greedily whatever else can go.
        nonlocal levels
        among = sorted(among, key=cut_key)
        low, high = 0, len(among)  # relaxing among[:low] is known to keep the violation
        while low < high:
            mid = (low + high + 1) // 2
            if violation(relax_all_but(among[mid:], among)):
                low = mid
            else:
                high = mid - 1
        levels = relax_all_but(among[low:], among)
        kept = shrink(
            among[low:], lambda kept: violation(relax_all_but(kept, among[low:])), monotone=True
        )
        levels = relax_all_but(kept, among[low:])

    # The tail first: find the earliest time T such that what happened up to T fails. Ops that
    # completed later become FREE writes (the state of a prefix: their outcome unknown at T).
    completions = sorted({op.complete for op in universe if op.complete is not None})
    if not completions:
        raise ValueError("minimise needs a non-linearizable history, and this one has no result")
    low, high = 0, len(completions) - 1  # the full history (high) is known to fail
    while low < high:
        mid = (low + high) // 2
        if violation(_prefix(universe, levels, completions[mid])):
            high = mid
        else:
            low = mid + 1
    levels = _prefix(universe, levels, completions[high])

    # Then what the core returned, oldest first (1-minimal FULL set), then when the context
    # happened (1-minimal PINNED set).
    full = [i for i, level in enumerate(levels) if level is Level.FULL]
    reduce(full, lambda i: _completion(universe[i]))
    pinned = [i for i, level in enumerate(levels) if level is Level.PINNED]
    reduce(pinned, lambda i: universe[i].invoke)

    shown = [i for i, level in enumerate(levels) if level >= Level.PINNED]
    return Counterexample(
        ops=tuple(universe[i] for i in shown),
        context=tuple(universe[i] for i in shown if levels[i] is Level.PINNED),
        minimal=minimal,
    )


def _prefix(universe: Sequence[Operation], levels: Sequence[Level], until: int) -> list[Level]:
    """The history as it stood at time `until`: what completed later has an unknown outcome."""
    result = list(levels)
    for i, (op, level) in enumerate(zip(universe, levels, strict=True)):
        if level is Level.FULL and _completion(op) > until:
            result[i] = Level.ABSENT if op.kind == "get" else Level.FREE
    return result


def _completion(op: Operation) -> int:
    assert op.complete is not None, "only completed operations are FULL"
    return op.complete


def time_order(op: Operation) -> tuple[int, bool, int, int]:
    return (op.invoke, op.complete is None, op.complete or 0, op.client)
