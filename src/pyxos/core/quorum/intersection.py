"""A brute-force proof that a small quorum system is safe for Paxos.

Paxos is safe when every phase-1 quorum intersects every phase-2 quorum. Checking every pair of
subsets costs 4^n calls; instead one pass over the 2^n subsets (as bit masks over `members`)
fills `has_q[m]`: "some subset of `m` is a quorum". A Q1 `a` then misses some Q2 exactly when
`has_q2[~a]` holds, and walking down from `~a` while a smaller subset still holds a Q2 yields a
minimal witness. Every quorum contains a minimal one, so checking minimal Q1s is enough, and the
check does not assume that a superset of a quorum is a quorum.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from pyxos.core.ids import NodeId
from pyxos.core.quorum.base import QuorumSystem

_IsQuorum = Callable[[Collection[NodeId]], bool]


def check_intersection(qs: QuorumSystem, *, members_max: int = 16) -> None:
    """Return if every Q1 of `qs` intersects every Q2; raise `ValueError` otherwise.

    The error names a disjoint pair of minimal quorums. Also raises `ValueError` if the members
    are not distinct and ascending, if the whole membership is not both a Q1 and a Q2 (no
    progress would ever be possible), or if there are more than `members_max` members (the
    search is exponential).
    """
    members = tuple(qs.members)
    if members != tuple(sorted(set(members))):
        raise ValueError(f"members must be distinct and ascending: {members}")
    if len(members) > members_max:
        raise ValueError(f"{len(members)} members is too many to search (max {members_max})")
    if not (qs.is_q1(members) and qs.is_q2(members)):
        raise ValueError(f"all members {members} together must form both a Q1 and a Q2")
    has_q1 = _quorum_table(qs.is_q1, members)
    has_q2 = _quorum_table(qs.is_q2, members)
    full = (1 << len(members)) - 1
    for a in range(full + 1):
        if has_q1[a] and not _has_smaller(has_q1, a) and has_q2[full & ~a]:
            b = _minimal_within(has_q2, full & ~a)
            raise ValueError(
                f"Q1 {_ids(a, members)} and Q2 {_ids(b, members)} are disjoint quorums of {qs!r}"
            )


def _ids(mask: int, members: tuple[NodeId, ...]) -> tuple[NodeId, ...]:
    return tuple(m for i, m in enumerate(members) if mask >> i & 1)


def _bits(mask: int) -> list[int]:
    return [1 << i for i in range(mask.bit_length()) if mask >> i & 1]


def _quorum_table(is_quorum: _IsQuorum, members: tuple[NodeId, ...]) -> bytearray:
    """`table[m]` is 1 if some subset of mask `m` (including `m`) is a quorum."""
    table = bytearray(1 << len(members))
    for mask in range(len(table)):
        if _has_smaller(table, mask) or is_quorum(frozenset(_ids(mask, members))):
            table[mask] = 1
    return table


def _has_smaller(table: bytearray, mask: int) -> bool:
    """True if a proper subset of `mask` holds a quorum (masks below `mask` are filled)."""
    return any(table[mask ^ bit] for bit in _bits(mask))


def _minimal_within(table: bytearray, mask: int) -> int:
    """A minimal quorum inside `mask`, which must hold one."""
    shrunk = True
    while shrunk:
        shrunk = False
        for bit in _bits(mask):
            if table[mask ^ bit]:
                mask ^= bit
                shrunk = True
                break
    return mask
