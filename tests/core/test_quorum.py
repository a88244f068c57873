"""Quorum systems: which ack sets are quorums, the constructors' checks, and intersection."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from itertools import combinations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pyxos.core.ids import NodeId
from pyxos.core.quorum import Flexible, Grid, Majority, QuorumSystem, check_intersection

# Deterministic: the same examples on every run and every worker, no example database.
SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=60)


def _members(n: int) -> tuple[NodeId, ...]:
    return tuple(range(1, n + 1))


@st.composite
def _grids(draw: st.DrawFn) -> Grid:
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    ids = iter(range(1, sum(sizes) + 1))
    zones = tuple(tuple(next(ids) for _ in range(size)) for size in sizes)
    fz = draw(st.integers(0, len(zones) - 1))
    fn = draw(st.integers(0, min(sizes) - 1))
    return Grid(zones, fz=fz, fn=fn)


@st.composite
def _flexibles(draw: st.DrawFn) -> Flexible:
    n = draw(st.integers(1, 9))
    q1 = draw(st.integers(1, n))
    q2 = draw(st.integers(n - q1 + 1, n))
    return Flexible(_members(n), q1_size=q1, q2_size=q2)


# --- Majority ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "size"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (7, 4)])
def test_majority_needs_more_than_half(n: int, size: int) -> None:
    qs = Majority(_members(n))
    for k in range(n + 1):
        acks = set(range(1, k + 1))
        assert qs.is_q1(acks) == qs.is_q2(acks) == (k >= size)


def test_majority_sorts_members_and_rejects_bad_membership() -> None:
    assert Majority((3, 1, 2)).members == (1, 2, 3)
    with pytest.raises(ValueError, match="at least one member"):
        Majority(())
    with pytest.raises(ValueError, match="duplicate"):
        Majority((1, 2, 2))


def test_majority_ignores_non_members() -> None:
    qs = Majority((1, 2, 3))
    assert not qs.is_q1({1, 98, 99})
    assert not qs.is_q2([1, 98, 99])
    assert qs.is_q2({1, 3, 99})


@pytest.mark.parametrize("n", range(1, 13))
def test_majority_quorums_intersect(n: int) -> None:
    check_intersection(Majority(_members(n)))


# --- Flexible ---------------------------------------------------------------------------------


def test_flexible_counts_each_phase_against_its_own_size() -> None:
    qs = Flexible((5, 4, 3, 2, 1), q1_size=4, q2_size=2)
    assert qs.members == (1, 2, 3, 4, 5)
    assert qs.is_q2({1, 5}) and not qs.is_q1({1, 5})
    assert qs.is_q1({1, 2, 3, 5})
    assert not qs.is_q2({3})


def test_flexible_ignores_non_members() -> None:
    qs = Flexible((1, 2, 3, 4), q1_size=3, q2_size=2)
    assert not qs.is_q2({1, 99})
    assert not qs.is_q1([1, 2, 99, 100])
    assert qs.is_q1([1, 2, 3, 99])


@pytest.mark.parametrize(
    ("members", "q1", "q2", "message"),
    [
        ((1, 2, 3, 4), 2, 2, "quorums of 2 and phase-2 quorums of 2 can be disjoint"),
        ((1, 2, 3), 0, 3, "q1_size=0 must be between 1 and the 3 members"),
        ((1, 2, 3), 3, 4, "q2_size=4 must be between 1 and the 3 members"),
        ((), 1, 1, "at least one member"),
        ((1, 1, 2), 2, 2, "duplicate"),
    ],
)
def test_flexible_rejects_unsafe_or_impossible_sizes(
    members: tuple[NodeId, ...], q1: int, q2: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Flexible(members, q1_size=q1, q2_size=q2)


@SETTINGS
@given(_flexibles())
def test_flexible_quorums_intersect(qs: Flexible) -> None:
    check_intersection(qs)


# --- Grid -------------------------------------------------------------------------------------

ZONES_3X3 = ((1, 2, 3), (4, 5, 6), (7, 8, 9))


def test_grid_q1_needs_fn_plus_one_nodes_in_all_but_fz_zones() -> None:
    qs = Grid(ZONES_3X3, fz=1, fn=1)
    assert qs.is_q1({1, 2, 4, 5})
    assert not qs.is_q1({1, 2, 4, 7})  # only one zone with two nodes
    assert qs.is_q1({1, 2, 3, 8, 9})


def test_grid_q2_needs_all_but_fn_nodes_in_fz_plus_one_zones() -> None:
    qs = Grid(ZONES_3X3, fz=1, fn=1)
    assert qs.is_q2({1, 2, 4, 5})
    assert not qs.is_q2({1, 2, 3})  # one full zone, but fz + 1 = 2 are needed
    assert Grid(ZONES_3X3, fz=0, fn=1).is_q2({7, 9})


def test_grid_with_uneven_zones_counts_fn_against_each_zone() -> None:
    qs = Grid(((1, 2), (3, 4, 5, 6)), fz=0, fn=1)
    assert qs.is_q2({1}) and qs.is_q2({3, 4, 5})
    assert not qs.is_q2({3, 4})
    assert qs.is_q1({1, 2, 3, 4}) and not qs.is_q1({1, 3, 4})


def test_grid_ignores_non_members_and_normalises_zones() -> None:
    qs = Grid(((9, 8, 7), (3, 1, 2)), fz=0, fn=1)
    assert qs.zones == ((1, 2, 3), (7, 8, 9))
    assert qs.members == (1, 2, 3, 7, 8, 9)
    assert qs == Grid(((1, 2, 3), (7, 8, 9)), fz=0, fn=1)
    assert not qs.is_q2({1, 99})
    assert not qs.is_q1({1, 2, 7, 99})


@pytest.mark.parametrize(
    ("zones", "fz", "fn", "message"),
    [
        ((), 0, 0, "at least one zone"),
        (((1, 2), ()), 0, 0, "at least one node"),
        (((1, 2), (2, 3)), 0, 0, "appears twice"),
        (((1, 2), (3, 4)), 2, 0, "fz=2 must be at least 0 and less than the 2 zones"),
        (((1, 2), (3, 4)), -1, 0, "fz=-1"),
        (
            ((1, 2), (3, 4, 5)),
            0,
            2,
            r"fn=2 must be at least 0 and less than the smallest zone \(2\)",
        ),
        (((1, 2), (3, 4)), 0, -1, "fn=-1"),
    ],
)
def test_grid_rejects_bad_parameters(
    zones: tuple[tuple[NodeId, ...], ...], fz: int, fn: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Grid(zones, fz=fz, fn=fn)


@SETTINGS
@given(_grids())
def test_grid_quorums_intersect(qs: Grid) -> None:
    check_intersection(qs)


@SETTINGS
@given(_grids())
def test_grid_tolerates_fz_zone_and_fn_node_failures(qs: Grid) -> None:
    # Failing the last fz zones and fn nodes in every other zone leaves both kinds of quorum,
    # given enough zones (Q2 needs fz + 1 live ones) and nodes per zone (Q1 needs fn + 1).
    assume(len(qs.zones) >= 2 * qs.fz + 1)
    assume(min(len(zone) for zone in qs.zones) >= 2 * qs.fn + 1)
    alive = {m for zone in qs.zones[: len(qs.zones) - qs.fz] for m in zone[qs.fn :]}
    assert qs.is_q1(alive)
    assert qs.is_q2(alive)


# --- check_intersection -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Halves:
    """Broken on purpose: Q1 and Q2 are both "at least half", so two halves can miss."""

    members: tuple[NodeId, ...]

    def is_q1(self, acks: Collection[NodeId]) -> bool:
        return 2 * len(acks) >= len(self.members)

    def is_q2(self, acks: Collection[NodeId]) -> bool:
        return 2 * len(acks) >= len(self.members)


@dataclass(frozen=True, slots=True)
class _Listed:
    """Quorums given as explicit minimal sets (anything containing one is a quorum)."""

    members: tuple[NodeId, ...]
    q1s: tuple[frozenset[NodeId], ...]
    q2s: tuple[frozenset[NodeId], ...]

    def is_q1(self, acks: Collection[NodeId]) -> bool:
        return any(q <= set(acks) for q in self.q1s)

    def is_q2(self, acks: Collection[NodeId]) -> bool:
        return any(q <= set(acks) for q in self.q2s)


def test_check_intersection_names_a_disjoint_pair_of_minimal_quorums() -> None:
    with pytest.raises(ValueError, match=r"Q1 \(1, 2\) and Q2 \(3, 4\) are disjoint"):
        check_intersection(_Halves((1, 2, 3, 4)))


def test_check_intersection_finds_the_one_bad_pair() -> None:
    q1s = (frozenset({1, 2}), frozenset({3, 4}))
    safe = _Listed((1, 2, 3, 4), q1s=q1s, q2s=(frozenset({1, 3}),))
    check_intersection(safe)
    broken = _Listed((1, 2, 3, 4), q1s=q1s, q2s=(frozenset({1, 3}), frozenset({1, 2})))
    with pytest.raises(ValueError, match=r"Q1 \(3, 4\) and Q2 \(1, 2\) are disjoint"):
        check_intersection(broken)


def test_check_intersection_rejects_systems_that_can_never_decide() -> None:
    never = _Listed((1, 2, 3), q1s=(frozenset({1, 2}),), q2s=())
    with pytest.raises(ValueError, match="must form both a Q1 and a Q2"):
        check_intersection(never)


def test_check_intersection_refuses_large_or_unsorted_memberships() -> None:
    with pytest.raises(ValueError, match="too many"):
        check_intersection(Majority(_members(17)))
    with pytest.raises(ValueError, match="distinct and ascending"):
        check_intersection(_Halves((2, 1)))


@SETTINGS
@given(st.integers(2, 8), st.data())
def test_check_intersection_agrees_with_counting(n: int, data: st.DataObject) -> None:
    # Counting quorums without the Flexible guard: safe exactly when q1 + q2 > n.
    q1 = data.draw(st.integers(1, n))
    q2 = data.draw(st.integers(1, n))
    members = _members(n)
    qs = _Listed(
        members,
        q1s=tuple(frozenset(c) for c in combinations(members, q1)),
        q2s=tuple(frozenset(c) for c in combinations(members, q2)),
    )
    if q1 + q2 > n:
        check_intersection(qs)
    else:
        with pytest.raises(ValueError, match="disjoint"):
            check_intersection(qs)


def test_every_system_is_a_quorum_system() -> None:
    systems: list[QuorumSystem] = [
        Majority((1, 2, 3)),
        Flexible((1, 2, 3), q1_size=2, q2_size=2),
        Grid(((1, 2), (3, 4)), fz=0, fn=0),
    ]
    assert [qs.members for qs in systems] == [(1, 2, 3), (1, 2, 3), (1, 2, 3, 4)]
