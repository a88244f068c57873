"""Flexible Paxos quorums (Howard, Malkhi and Spiegelman, 2016).

Paxos needs only that every phase-1 quorum meets every phase-2 quorum; two phase-1 quorums need
not meet, nor two phase-2 quorums. With counting quorums over `n` members that is
`q1_size + q2_size > n`. A small Q2 makes the steady state (phase 2, once per slot) cheaper and
more tolerant of slow nodes; the price is a large Q1, paid only at a view change.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import KW_ONLY, dataclass, field

from pyxos.core.ids import NodeId


def check_sizes(q1_size: int, q2_size: int, n: int) -> None:
    """Raise `ValueError` unless every `q1_size`-set meets every `q2_size`-set of `n` members.
    (A module-level rule so that a test can switch it off and prove the checkers notice.)"""
    if q1_size + q2_size <= n:
        raise ValueError(
            f"phase-1 quorums of {q1_size} and phase-2 quorums of {q2_size} can be disjoint "
            f"among {n} members: q1 + q2 = {q1_size + q2_size} must exceed {n}"
        )


@dataclass(frozen=True, slots=True)
class Flexible:
    """Q1 = any `q1_size` of `members`, Q2 = any `q2_size`; `q1_size + q2_size > len(members)`.

    Raises `ValueError` for no members, duplicate ids, a size outside `1..n`, or sizes whose
    quorums could miss each other.
    """

    members: tuple[NodeId, ...]
    _: KW_ONLY
    q1_size: int
    q2_size: int
    _member_set: frozenset[NodeId] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.members)
        if n == 0:
            raise ValueError("a quorum system needs at least one member")
        if len(set(self.members)) != n:
            raise ValueError(f"duplicate member ids in {self.members}")
        for name, size in (("q1_size", self.q1_size), ("q2_size", self.q2_size)):
            if not 1 <= size <= n:
                raise ValueError(f"{name}={size} must be between 1 and the {n} members")
        check_sizes(self.q1_size, self.q2_size, n)
        object.__setattr__(self, "members", tuple(sorted(self.members)))
        object.__setattr__(self, "_member_set", frozenset(self.members))

    def is_q1(self, acks: Collection[NodeId]) -> bool:
        # `intersection` drops non-members and duplicates, so a stray id never counts.
        return len(self._member_set.intersection(acks)) >= self.q1_size

    def is_q2(self, acks: Collection[NodeId]) -> bool:
        return len(self._member_set.intersection(acks)) >= self.q2_size
