"""Replica rules: views, phase 1 value choice, learning from the commit point, catch-up."""

from __future__ import annotations

from random import Random

from pyxos.core.commands import Command
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot
from pyxos.core.io import Effect, Flush, Note, Persist, Propose, Receive, Send, Tick
from pyxos.core.multipaxos.messages import (
    Accept,
    AcceptedEntry,
    CatchupReply,
    CatchupRequest,
    Commit,
    DecidedEntry,
    Forward,
    HeartbeatAck,
    Prepare,
    PreViewAck,
    PreViewChange,
    Promise,
    ViewChange,
)
from pyxos.core.multipaxos.records import AcceptedValue, Promised
from pyxos.core.multipaxos.replica import Replica

MEMBERS = (1, 2, 3)
A = (Command(client_id=7, seq=1, op=b"a"),)
B = (Command(client_id=8, seq=1, op=b"b"),)


def replica(node_id: int, **kw: int) -> Replica:
    return Replica(ReplicaConfig(node_id=node_id, members=MEMBERS, **kw), Random(0))


def sends(effects: list[Effect], kind: type) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and isinstance(e.message, kind)]


def test_the_owner_of_view_zero_prepares_at_once_after_promising_its_own_ballot() -> None:
    r = replica(1)
    effects = r.step(Tick(now_ms=10))
    assert effects[0] == Persist(records=(Promised(ballot=Ballot(0, 1)),))
    prepares = sends(effects, Prepare)
    assert [s.to for s in prepares] == [1, 2, 3]
    assert prepares[0].message == Prepare(ballot=Ballot(0, 1), from_slot=1)


def test_a_follower_that_hears_no_leader_asks_before_it_moves_to_the_next_view() -> None:
    r = replica(2, election_timeout_ticks_jitter=0)
    effects: list[Effect] = []
    for t in range(1, 31):
        effects = r.step(Tick(now_ms=10 * t))
    # The timeout only asks: the view stays, and nobody is told to move.
    assert r.view == 0
    assert [(s.to, s.message) for s in sends(effects, PreViewChange)] == [
        (1, PreViewChange(view=1)),
        (3, PreViewChange(view=1)),
    ]
    assert sends(effects, ViewChange) == []
    # Node 3 would follow: with node 2 itself that is a phase-1 quorum of three.
    effects = r.step(Receive(sender=3, message=PreViewAck(view=1, granted=True)))
    assert r.view == 1
    assert [s.to for s in sends(effects, ViewChange)] == [1, 3]
    # Node 2 owns view 1: it starts phase 1 with ballot (1, 2).
    assert sends(effects, Prepare)[0].message == Prepare(ballot=Ballot(1, 2), from_slot=1)


def test_the_election_timeout_grows_with_churn_and_is_capped() -> None:
    r = replica(3, election_timeout_ticks_jitter=0)
    timeouts = []
    t = 0
    while len(timeouts) < 6:
        t += 1
        if sends(r.step(Tick(now_ms=10 * t)), PreViewChange):
            timeouts.append(r.elections.timeout_ticks)
    assert timeouts == [60, 120, 240, 240, 240, 240]


def _lead_view_1(r: Replica, promises: dict[int, tuple[AcceptedEntry, ...]]) -> list[Effect]:
    for t in range(1, 31):
        r.step(Tick(now_ms=10 * t))
    r.step(Receive(sender=3, message=PreViewAck(view=1, granted=True)))
    assert r.leader is not None
    effects: list[Effect] = []
    for sender, accepted in promises.items():
        msg = Promise(ballot=Ballot(1, 2), from_slot=1, accepted=accepted, decided_upto=0)
        effects += r.step(Receive(sender=sender, message=msg))
    return effects


def test_phase_1_reproposes_the_highest_ballot_value_and_fills_holes_with_noop() -> None:
    r = replica(2, election_timeout_ticks_jitter=0)
    effects = _lead_view_1(
        r,
        {
            1: (AcceptedEntry(slot=1, ballot=Ballot(0, 1), batch=A),),
            3: (
                AcceptedEntry(slot=1, ballot=Ballot(0, 3), batch=B),
                AcceptedEntry(slot=3, ballot=Ballot(0, 1), batch=A),
            ),
        },
    )
    accepts = {s.message.slot: s.message.batch for s in sends(effects, Accept)}  # type: ignore[attr-defined]
    assert accepts == {1: B, 2: (), 3: A}
    assert Note(kind="leader", detail="ballot=1.2") in effects
    assert r.is_leader


def test_a_follower_learns_only_values_it_accepted_at_the_commit_ballot() -> None:
    r = replica(3)
    b = Ballot(1, 2)
    r.step(Receive(sender=2, message=Accept(ballot=Ballot(0, 1), slot=1, batch=A, commit_upto=0)))
    r.step(Receive(sender=2, message=Accept(ballot=b, slot=2, batch=B, commit_upto=0)))
    effects = r.step(Receive(sender=2, message=Commit(ballot=b, upto=2)))
    # Slot 2 was accepted at the commit ballot, slot 1 was not: ask for it.
    assert r.learner.decided == {2: B}
    assert sends(effects, CatchupRequest)[0].message == CatchupRequest(from_slot=1, upto=2)


def test_a_follower_forwards_a_turns_client_commands_to_its_views_owner_together() -> None:
    r = replica(3)
    assert r.step(Propose(commands=A)) == []
    assert r.step(Propose(commands=B)) == []
    effects = r.step(Flush())
    assert effects == [Send(to=1, message=Forward(commands=A + B))]


def test_a_leader_puts_a_turns_commands_in_one_slot() -> None:
    r = replica(2, election_timeout_ticks_jitter=0)
    _lead_view_1(r, {1: (), 3: ()})
    assert r.step(Propose(commands=A)) == []
    assert r.step(Propose(commands=B)) == []
    accepts = sends(r.step(Flush()), Accept)
    assert {s.message.batch for s in accepts} == {A + B}  # type: ignore[attr-defined]
    assert [s.to for s in accepts] == [1, 2, 3]


def test_recovery_never_reuses_a_ballot_the_replica_led_before() -> None:
    durable = [Promised(ballot=Ballot(0, 1)), AcceptedValue(slot=1, ballot=Ballot(0, 1), batch=A)]
    r = Replica(ReplicaConfig(node_id=1, members=MEMBERS), Random(0), durable=durable)
    assert r.step(Tick(now_ms=10)) == []
    assert r.leader is None


def test_the_leader_knows_how_far_each_peer_is_behind_from_heartbeat_acks() -> None:
    r = replica(2, election_timeout_ticks_jitter=0)
    _lead_view_1(r, {1: (), 3: ()})
    assert r.leader is not None
    r.learner.learn(1, A)
    r.learner.learn(2, B)
    ack = HeartbeatAck(ballot=Ballot(1, 2), read_round=0, decided_upto=1)
    r.step(Receive(sender=1, message=ack))
    assert r.leader.lag() == {1: 1, 3: 2}


def test_a_leader_that_learns_another_value_in_its_own_slot_steps_down() -> None:
    """Simulator seed 701 (thrifty, 5 nodes): a leader cut off at ballot 2.3 had `x` accepted
    in slot 40 by one other node; a higher ballot chose another value there. The old leader then
    learned the later slots by catch-up (a reply carries no ballot, so it never heard of the
    higher one), and its `Commit(2.3, upto)` made the node that had accepted `x` at 2.3 decide
    `x`. A leader that learns, from anyone else, a value for a slot it proposed something else
    in, or a slot it never proposed, has been deposed: it must stop leading, and never announce
    a commit point at its old ballot."""
    r = replica(2, election_timeout_ticks_jitter=0)
    _lead_view_1(r, {1: (), 3: ()})
    r.step(Propose(commands=A))
    assert sends(r.step(Flush()), Accept)
    learned = CatchupReply(entries=(DecidedEntry(slot=1, batch=B), DecidedEntry(slot=2, batch=A)))
    effects = r.step(Receive(sender=3, message=learned))
    effects += r.step(Flush())
    assert not r.is_leader
    assert sends(effects, Commit) == []
    assert r.learner.decided == {1: B, 2: A}
    assert Note(kind="deposed", detail="slot=1 learned from 3") in effects


def test_a_leader_that_learns_its_own_value_by_catch_up_keeps_leading() -> None:
    r = replica(2, election_timeout_ticks_jitter=0)
    _lead_view_1(r, {1: (), 3: ()})
    r.step(Propose(commands=A))
    r.step(Flush())
    r.step(Receive(sender=3, message=CatchupReply(entries=(DecidedEntry(slot=1, batch=A),))))
    assert r.is_leader
