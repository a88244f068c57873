"""The simulated network and the partition shapes: exactly the right links are cut."""

from __future__ import annotations

from itertools import permutations
from random import Random

import pytest

from pyxos.faults import Heal, Partition, SetDelay, SetDrop, SetDuplicate, describe_fault
from pyxos.faults.partitions import bridge, isolate, one_way, split, swizzle_clog
from pyxos.sim.faults import PARTITION_KINDS, PartitionPick, partition_shape, plan_faults
from pyxos.sim.network import SimNetwork
from pyxos.sim.options import expand_options

MEMBERS = (1, 2, 3, 4, 5)
ALL_LINKS = {(a, b) for a, b in permutations(MEMBERS, 2)}


def test_split_cuts_every_link_between_the_groups_both_ways() -> None:
    p = split([1, 2], [3, 4, 5])
    expected = {(a, b) for a in (1, 2) for b in (3, 4, 5)}
    assert p.blocked == expected | {(b, a) for a, b in expected}
    assert not p.cuts(1, 2) and not p.cuts(4, 5)


def test_one_way_cuts_one_direction_only() -> None:
    p = one_way([1], [2, 3])
    assert p.blocked == {(1, 2), (1, 3)}
    assert not p.cuts(2, 1) and not p.cuts(3, 1)


def test_bridge_node_still_talks_to_both_sides() -> None:
    p = bridge([1, 2], [4, 5], 3)
    for other in (1, 2, 4, 5):
        assert not p.cuts(3, other) and not p.cuts(other, 3)
    assert p.cuts(1, 4) and p.cuts(5, 2)
    assert not p.cuts(1, 2) and not p.cuts(4, 5)
    assert p.kind == "bridge"


def test_isolate_cuts_each_node_from_everyone() -> None:
    p = isolate([2, 4], MEMBERS, kind="swizzle")
    for node in (2, 4):
        for other in MEMBERS:
            if other != node:
                assert p.cuts(node, other) and p.cuts(other, node)
    assert not p.cuts(1, 3) and not p.cuts(3, 5)


def test_swizzle_clog_cuts_one_at_a_time_then_heals_in_another_order() -> None:
    steps = swizzle_clog([1, 2, 3], [2, 3, 1], MEMBERS)
    cut_sets = [{n for n in MEMBERS if p.cuts(n, 5 if n != 5 else 4)} for p in steps]
    assert cut_sets == [{1}, {1, 2}, {1, 2, 3}, {1, 3}, {1}, set()]
    assert steps[-1].blocked == frozenset()


def test_builders_reject_overlapping_groups() -> None:
    with pytest.raises(ValueError):
        split([1, 2], [2, 3])
    with pytest.raises(ValueError):
        bridge([1, 2], [3], 2)
    with pytest.raises(ValueError):
        swizzle_clog([1, 2], [1, 3], MEMBERS)
    with pytest.raises(ValueError):
        Partition(blocked=frozenset({(1, 1)}))


def _network(**kwargs: float) -> SimNetwork:
    net = SimNetwork(Random(1), delay_us_min=100, delay_us_max=200)
    if "drop" in kwargs:
        net.apply(SetDrop(p=kwargs["drop"]))
    if "dup" in kwargs:
        net.apply(SetDuplicate(p=kwargs["dup"]))
    return net


def test_transit_respects_the_partition_exactly() -> None:
    net = _network()
    partition = split([1, 2], [3, 4, 5])
    net.apply(partition)
    for src, dst in sorted(ALL_LINKS):
        delays = net.transit(src, dst)
        assert (delays == ()) == ((src, dst) in partition.blocked)
    net.apply(Heal())
    assert all(net.transit(src, dst) for src, dst in sorted(ALL_LINKS))


def test_one_way_partition_in_the_network() -> None:
    net = _network()
    net.apply(one_way([3], [1, 2, 4, 5]))
    assert net.transit(3, 1) == ()
    assert net.transit(1, 3) != ()


def test_clients_are_never_partitioned() -> None:
    net = _network()
    net.apply(isolate(MEMBERS, MEMBERS, kind="swizzle"))
    assert net.transit(1001, 1) != ()
    assert net.transit(2, 1001) != ()


def test_self_sends_arrive_at_once_even_with_total_loss() -> None:
    net = _network(drop=1.0)
    net.apply(isolate([1], MEMBERS, kind="minority"))
    assert net.transit(1, 1) == (0,)
    assert net.transit(1, 2) == ()


def test_delays_stay_in_range_and_reorder() -> None:
    net = _network()
    delays = [net.transit(1, 2)[0] for _ in range(500)]
    assert min(delays) >= 100 and max(delays) <= 200
    assert delays != sorted(delays)  # independent delays reorder messages
    net.apply(SetDelay(delay_us_min=5000, delay_us_max=5000))
    assert net.transit(1, 2) == (5000,)


def test_drop_and_duplicate_rates() -> None:
    net = _network(drop=0.3)
    lost = sum(net.transit(1, 2) == () for _ in range(2000))
    assert 450 < lost < 750 and net.dropped == lost
    net = _network(dup=1.0)
    assert len(net.transit(1, 2)) == 2 and net.duplicated == 1


def test_apply_rejects_node_faults() -> None:
    from pyxos.faults import Crash

    with pytest.raises(ValueError):
        _network().apply(Crash(node=1))


def test_every_seed_plans_every_partition_kind_and_at_least_ten_faults() -> None:
    for seed in range(1, 60):
        options = expand_options(seed)
        members = tuple(range(1, options.nodes + 1))
        plan = plan_faults(Random(seed), options, members)
        kinds = {p.action.kind for p in plan if isinstance(p.action, Partition | PartitionPick)}
        assert kinds == set(PARTITION_KINDS), seed
        assert len(plan) >= 10
        assert [p.at_us for p in plan] == sorted(p.at_us for p in plan)
        assert all(0 <= p.at_us <= options.fault_phase_us for p in plan)


def test_describe_fault_is_sorted_and_stable() -> None:
    p = split([3], [1])
    assert describe_fault(p) == "partition halves 1->3 3->1"
    assert describe_fault(SetDrop(p=0.25)) == "drop p=0.2500"


@pytest.mark.parametrize("kind", ["halves", "minority", "one-way", "bridge"])
def test_a_targeted_partition_puts_the_target_on_the_losing_side(kind: str) -> None:
    for seed in range(20):
        p = partition_shape(Random(seed), kind, MEMBERS, target=4)
        cut_from = {other for other in MEMBERS if p.cuts(4, other) or p.cuts(other, 4)}
        reach = {other for other in MEMBERS if other != 4 and not p.cuts(4, other)}
        assert p.kind == kind and cut_from, (seed, p)
        if kind in ("halves", "minority"):
            assert len(reach) + 1 <= len(MEMBERS) // 2  # 4 is in the minority side
        if kind == "one-way":
            assert len(cut_from) == 4
