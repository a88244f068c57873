"""The generic greedy shrinker."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from random import Random

from pyxos.check.shrink import shrink


def test_shrinks_to_the_items_that_matter() -> None:
    calls: list[tuple[int, ...]] = []

    def fails(items: Sequence[int]) -> bool:
        calls.append(tuple(items))
        return {3, 7} <= set(items)

    assert shrink(range(20), fails, monotone=True) == (3, 7)
    assert len(calls) < 40  # chunks first: far fewer checks than one per item


def test_can_shrink_to_nothing() -> None:
    assert shrink([1, 2, 3], lambda items: True) == ()


def test_non_monotone_failures_still_end_1_minimal() -> None:
    # Random failure predicates over subsets of 6 items, closed under nothing: the result must
    # fail, and removing any single item from it must not.
    rng = Random(11)
    universe = tuple(range(6))
    subsets = [frozenset(c) for n in range(7) for c in combinations(universe, n)]
    for _ in range(300):
        failing = {s for s in subsets if rng.random() < 0.3} | {frozenset(universe)}

        def fails(items: Sequence[int], failing: set[frozenset[int]] = failing) -> bool:
            return frozenset(items) in failing

        result = shrink(universe, fails)
        assert fails(result)
        for item in result:
            assert not fails([other for other in result if other != item])
