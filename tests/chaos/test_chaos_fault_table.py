"""The fault table of one node (`pyxos.runtime.faults`): what each kind does to a message in
and out, expiry on the caller's clock, healing, and the checks on what may be injected."""

from __future__ import annotations

from random import Random
from typing import Any

import pytest

from pyxos.runtime.faults import Fault, FaultError, FaultTable, make_fault

MEMBERS = (1, 2, 3)


def fault(
    kind: str,
    *,
    duration_s: float = 10.0,
    peers: tuple[int, ...] = (),
    delay_ms: int = 0,
    p: float = 0.0,
) -> Fault:
    return make_fault(
        kind,
        node=1,
        members=MEMBERS,
        now_s=0.0,
        duration_s=duration_s,
        peers=peers,
        delay_ms=delay_ms,
        p=p,
    )


def table(*faults: Fault) -> FaultTable:
    t = FaultTable(rng=Random(5))
    for f in faults:
        t.add(f)
    return t


def test_an_empty_table_is_inactive_and_lets_everything_through() -> None:
    t = FaultTable()
    assert not t.active
    assert t.outbound(2, 0.0) == 0.0
    assert t.inbound(2, 0.0)
    assert not t.crashed(0.0)


def test_drop_cuts_one_direction_to_the_named_peer_only() -> None:
    t = table(fault("drop", peers=(2,)))
    assert t.active
    assert t.outbound(2, 1.0) is None
    assert t.outbound(3, 1.0) == 0.0
    assert t.inbound(2, 1.0)
    assert t.counters.dropped_out == 1


def test_slow_delays_and_the_longest_delay_wins() -> None:
    t = table(fault("slow", peers=(2,), delay_ms=50), fault("slow", peers=(2, 3), delay_ms=200))
    assert t.outbound(2, 1.0) == 0.2
    assert t.outbound(3, 1.0) == 0.2
    assert t.counters.delayed == 2


def test_flaky_drops_about_p_of_the_messages_from_the_injected_random() -> None:
    t = table(fault("flaky", peers=(3,), p=0.3))
    dropped = sum(t.outbound(3, 1.0) is None for _ in range(2000))
    assert 500 < dropped < 700
    again = table(fault("flaky", peers=(3,), p=0.3))
    assert sum(again.outbound(3, 1.0) is None for _ in range(2000)) == dropped  # same seed


def test_partition_cuts_both_directions() -> None:
    t = table(fault("partition", peers=(2, 3)))
    assert t.outbound(2, 1.0) is None and t.outbound(3, 1.0) is None
    assert not t.inbound(2, 1.0) and not t.inbound(3, 1.0)


def test_crash_stops_all_talk_and_refuses_clients() -> None:
    t = table(fault("crash"))
    assert t.outbound(2, 1.0) is None
    assert not t.inbound(3, 1.0)
    assert t.refuses_clients(1.0)
    assert t.counters.refused_clients == 1


def test_faults_expire_on_the_callers_clock_and_the_table_goes_quiet() -> None:
    t = table(fault("drop", peers=(2,), duration_s=5.0), fault("crash", duration_s=2.0))
    assert t.crashed(1.9)
    assert not t.crashed(2.0)
    assert t.active
    assert t.outbound(2, 4.9) is None
    assert t.outbound(2, 5.0) == 0.0
    assert not t.active


def test_heal_ends_everything_now() -> None:
    t = table(fault("crash"), fault("partition", peers=(2,)))
    assert t.heal() == 2
    assert not t.active and t.inbound(2, 1.0) and t.current(1.0) == []


def test_describe_lists_what_is_left() -> None:
    t = table(fault("slow", peers=(3,), delay_ms=40, duration_s=4.0))
    view = t.describe(1.0)
    assert view["faults"] == [{"kind": "slow", "peers": [3], "remaining_s": 3.0, "delay_ms": 40}]


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("melt", {}, "kind must be one of"),
        ("crash", {"peers": (2,)}, "crash takes no peers"),
        ("drop", {}, "needs at least one peer"),
        ("drop", {"peers": (1,)}, "not a peer of node 1"),
        ("drop", {"peers": (9,)}, "not a peer of node 1"),
        ("slow", {"peers": (2,)}, "delay"),
        ("flaky", {"peers": (2,), "p": 1.5}, "probability"),
        ("drop", {"peers": (2,), "duration_s": 0.0}, "duration"),
        ("drop", {"peers": (2,), "duration_s": 1e9}, "duration"),
    ],
)
def test_bad_faults_are_refused_with_a_reason(
    kind: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(FaultError, match=message):
        fault(kind, **params)
