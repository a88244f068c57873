"""Each checker reports a hand-made violating trace, and stays quiet on a clean one. Records
reach the checkers as the protocol's facts (`fact(record)`), as in a run."""

from __future__ import annotations

from pyxos.core.commands import Batch, Command
from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.records import AcceptedValue, DecidedValue, Promised, fact
from pyxos.core.quorum import Majority
from pyxos.sim.checkers import (
    AppliedPrefixes,
    ChosenValues,
    MonotoneBallots,
    acked_writes_violations,
    format_batch,
)

B1 = Ballot(1, 1)
B2 = Ballot(2, 2)
X: Batch = (Command(client_id=1001, seq=1, op=b"x"),)
Y: Batch = (Command(client_id=1002, seq=1, op=b"y"),)


def _chosen() -> ChosenValues:
    return ChosenValues(Majority((1, 2, 3)))


def _accept(checker: ChosenValues, node: int, slot: int, ballot: Ballot, batch: Batch) -> None:
    checker.on_durable(node, fact(AcceptedValue(slot=slot, ballot=ballot, batch=batch)), 100)


# ---- 1. at most one value chosen per slot ---------------------------------------------------
def test_a_clean_slot_is_chosen_once() -> None:
    c = _chosen()
    _accept(c, 1, 1, B1, X)
    assert c.chosen == {}
    _accept(c, 2, 1, B1, X)
    _accept(c, 3, 2, B2, X)  # a minority in another slot: not chosen
    # A later ballot re-proposing the chosen value is fine.
    _accept(c, 2, 1, B2, X)
    _accept(c, 3, 1, B2, X)
    c.on_durable(1, fact(DecidedValue(slot=1, batch=X)), 200)
    assert c.chosen == {(b"", 1): X}
    assert c.violations == []


def test_two_values_chosen_in_one_slot() -> None:
    c = _chosen()
    _accept(c, 1, 5, B1, X)
    _accept(c, 2, 5, B1, X)
    _accept(c, 2, 5, B2, Y)
    _accept(c, 3, 5, B2, Y)
    assert len(c.violations) == 1
    assert "slot 5" in c.violations[0] and "2.2" in c.violations[0]


def test_two_values_accepted_at_one_ballot() -> None:
    c = _chosen()
    _accept(c, 1, 3, B1, X)
    _accept(c, 2, 3, B1, Y)
    assert len(c.violations) == 1 and "same ballot" in c.violations[0]


def test_a_decided_record_must_match_the_chosen_value() -> None:
    c = _chosen()
    c.on_durable(1, fact(DecidedValue(slot=1, batch=X)), 5)
    _accept(c, 1, 2, B1, X)
    _accept(c, 2, 2, B1, X)
    c.on_durable(3, fact(DecidedValue(slot=2, batch=Y)), 6)
    assert len(c.violations) == 2
    assert "before any value was chosen" in c.violations[0]
    assert "node 3 slot 2" in c.violations[1]


# ---- 2. applied prefixes agree --------------------------------------------------------------
def _applied() -> tuple[ChosenValues, AppliedPrefixes]:
    c = _chosen()
    for slot in (1, 2, 3):
        _accept(c, 1, slot, B1, X if slot != 2 else Y)
        _accept(c, 2, slot, B1, X if slot != 2 else Y)
    a = AppliedPrefixes(c)
    for node in (1, 2, 3):
        a.on_start(node)
    return c, a


def test_clean_applied_prefixes_including_a_replay_after_restart() -> None:
    _, a = _applied()
    for node in (1, 2):
        for slot in (1, 2, 3):
            a.on_applied(node, slot, X if slot != 2 else Y, 10)
    a.on_start(2)  # node 2 restarted: it replays from slot 1
    a.on_applied(2, 1, X, 20)
    assert a.applied_upto(2) == 1 and a.applied_upto(1) == 3
    assert a.violations == []


def test_a_gap_in_the_applied_slots() -> None:
    _, a = _applied()
    a.on_applied(1, 1, X, 10)
    a.on_applied(1, 3, X, 11)
    assert a.violations == ["t=11us node 1: applied slot 3 but the next slot in order is 2"]


def test_a_disagreeing_application() -> None:
    _, a = _applied()
    a.on_applied(1, 1, X, 10)
    a.on_applied(2, 1, Y, 12)
    assert len(a.violations) == 2  # disagrees with node 1, and with the chosen value
    assert "applied [1002.1] but [1001.1] was applied there before" in a.violations[0]


def test_applying_an_unchosen_slot() -> None:
    _, a = _applied()
    for slot in (1, 2, 3):
        a.on_applied(3, slot, X if slot != 2 else Y, 10)
    a.on_applied(3, 4, X, 10)
    assert a.violations == ["t=10us node 3 slot 4: applied [1001.1] before any value was chosen"]


# ---- 3. ballots never decrease ----------------------------------------------------------------
def test_monotone_ballots_clean() -> None:
    m = MonotoneBallots()
    m.on_durable(1, fact(Promised(ballot=B1)), 1)
    m.on_durable(1, fact(AcceptedValue(slot=1, ballot=B1, batch=X)), 2)
    m.on_durable(1, fact(AcceptedValue(slot=1, ballot=B2, batch=X)), 3)
    m.on_durable(1, fact(Promised(ballot=B2)), 4)
    m.on_restart(1, B2, 5)
    assert m.violations == []


def test_a_promise_going_down() -> None:
    m = MonotoneBallots()
    m.on_durable(2, fact(Promised(ballot=B2)), 1)
    m.on_durable(2, fact(Promised(ballot=B1)), 2)
    assert len(m.violations) == 1 and "promise 1.1 is below" in m.violations[0]


def test_an_accept_below_the_promise() -> None:
    m = MonotoneBallots()
    m.on_durable(2, fact(AcceptedValue(slot=4, ballot=B2, batch=X)), 1)  # accepting 2.2 promises it
    m.on_durable(2, fact(AcceptedValue(slot=5, ballot=B1, batch=X)), 2)
    assert len(m.violations) == 1 and "slot 5" in m.violations[0]


def test_a_restart_forgetting_its_promise() -> None:
    m = MonotoneBallots()
    m.on_durable(3, fact(Promised(ballot=B2)), 1)
    m.on_restart(3, B1, 9)
    assert m.violations == [
        "t=9us node 3: restarted with promise 1.1, below its durable promise 2.2"
    ]


# ---- 4. acknowledged writes -------------------------------------------------------------------
def test_acked_writes_present_everywhere() -> None:
    log = {(b"", 1): X, (b"", 2): Y}
    assert acked_writes_violations([(1001, 1, 5), (1002, 1, 6)], log, _upto(2, 2)) == []


def test_an_acked_write_lost_or_missing_on_a_node() -> None:
    log = {(b"", 1): X, (b"", 2): Y}
    found = acked_writes_violations([(1002, 1, 6), (1003, 1, 7)], log, _upto(2, 1))
    assert found == [
        "write 1002.1 acknowledged at t=6us (slot 2) is missing from the applied log of nodes [2]",
        "write 1003.1 acknowledged at t=7us is in no applied log",
    ]


def test_an_acked_write_is_looked_for_in_its_own_objects_log() -> None:
    log = {(b"k1", 1): X, (b"k2", 1): Y}
    found = acked_writes_violations(
        [(1001, 1, 5), (1002, 1, 6)], log, {1: {b"k1": 1, b"k2": 1}, 2: {b"k1": 1}}
    )
    assert found == [
        "write 1002.1 acknowledged at t=6us (object b'k2' slot 1) is missing from the "
        "applied log of nodes [2]"
    ]


def _upto(*slots: int) -> dict[int, dict[bytes, int]]:
    """Each node's applied prefix of the one log of a total-order protocol, by node id."""
    return {node: {b"": slot} for node, slot in enumerate(slots, start=1)}


def test_format_batch() -> None:
    assert format_batch(()) == "[]"
    assert format_batch(X + Y) == "[1001.1 1002.1]"
