"""Greedy shrinking of a failing input to a 1-minimal one (a simplified delta debugging).

`shrink(items, fails)` removes chunks of halving size, then single items, keeping every removal
after which `fails` still holds. The result still fails, and removing any one item from it makes
`fails` false.

If failing is monotone (removing items never makes a passing input fail), one pass at each
chunk size is enough: an item whose removal was rejected would be rejected again later, from a
smaller input. Otherwise single-item passes repeat until none succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def shrink(
    items: Sequence[T], fails: Callable[[Sequence[T]], bool], *, monotone: bool = False
) -> tuple[T, ...]:
    """A 1-minimal failing subsequence of `items` (which must fail); possibly empty, if `fails`
    says the empty sequence fails."""
    current = tuple(items)
    chunk = max(len(current) // 2, 1)
    while chunk >= 1:
        current = _remove_chunks(current, chunk, fails)
        chunk //= 2
    # The chunk == 1 pass above already tried every single item once.
    while not monotone:
        reduced = _remove_chunks(current, 1, fails)
        if len(reduced) == len(current):
            break
        current = reduced
    return current


def _remove_chunks(
    current: tuple[T, ...], chunk: int, fails: Callable[[Sequence[T]], bool]
) -> tuple[T, ...]:
    start = 0
    while start < len(current):
        candidate = current[:start] + current[start + chunk :]
        if fails(candidate):
            current = candidate  # the next chunk has moved to `start`
        else:
            start += chunk
    return current
