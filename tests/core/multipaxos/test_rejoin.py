"""Rejoining after losing the disk: mute until a leader above every old promise is heard."""

from __future__ import annotations

from random import Random

from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot
from pyxos.core.io import Effect, Persist, Receive, Send, Tick
from pyxos.core.multipaxos.messages import (
    Accept,
    Accepted,
    CatchupReply,
    CatchupRequest,
    DecidedEntry,
    Heartbeat,
    HeartbeatAck,
    Prepare,
    PreViewChange,
    Promise,
    RejoinInfo,
    RejoinQuery,
    ViewChange,
)
from pyxos.core.multipaxos.records import Promised
from pyxos.core.multipaxos.replica import Replica

MEMBERS = (1, 2, 3)


def rejoining(node_id: int = 3) -> Replica:
    return Replica(ReplicaConfig(node_id=node_id, members=MEMBERS), Random(0), rejoining=True)


def messages(effects: list[Effect], kind: type) -> list[object]:
    return [e.message for e in effects if isinstance(e, Send) and isinstance(e.message, kind)]


def test_a_rejoining_replica_asks_every_peer_and_casts_no_vote() -> None:
    r = rejoining()
    effects = r.step(Tick(now_ms=10))
    assert [e.to for e in effects if isinstance(e, Send)] == [1, 2]
    assert messages(effects, RejoinQuery) == [RejoinQuery(), RejoinQuery()]
    prepare = Prepare(ballot=Ballot(1, 2), from_slot=1)
    assert messages(r.step(Receive(sender=2, message=prepare)), Promise) == []
    accept = Accept(ballot=Ballot(1, 2), slot=1, batch=(), commit_upto=0)
    assert messages(r.step(Receive(sender=2, message=accept)), Accepted) == []


def test_the_floor_is_the_highest_promise_of_all_peers_and_is_made_durable() -> None:
    r = rejoining()
    r.step(Tick(now_ms=10))
    assert r.step(Receive(sender=1, message=RejoinInfo(promised=Ballot(4, 2), slot_upto=0))) == []
    effects = r.step(Receive(sender=2, message=RejoinInfo(promised=Ballot(2, 3), slot_upto=0)))
    assert effects[0] == Persist(records=(Promised(ballot=Ballot(4, 2)),))
    # It asks for a new view, so that a leader above the floor will be elected.
    assert messages(effects, ViewChange) == [ViewChange(view=5), ViewChange(view=5)]


def test_a_leader_at_or_below_the_floor_does_not_release_it() -> None:
    r = rejoining()
    r.step(Tick(now_ms=10))
    r.step(Receive(sender=1, message=RejoinInfo(promised=Ballot(4, 2), slot_upto=0)))
    r.step(Receive(sender=2, message=RejoinInfo(promised=Ballot(4, 2), slot_upto=0)))
    beat = Heartbeat(ballot=Ballot(4, 2), commit_upto=0, read_round=1)
    assert messages(r.step(Receive(sender=2, message=beat)), HeartbeatAck) == []
    assert r.rejoin is not None


def test_a_leader_above_the_floor_releases_it_and_it_votes_again() -> None:
    r = rejoining()
    r.step(Tick(now_ms=10))
    r.step(Receive(sender=1, message=RejoinInfo(promised=Ballot(4, 2), slot_upto=0)))
    r.step(Receive(sender=2, message=RejoinInfo(promised=Ballot(4, 2), slot_upto=0)))
    # View 6 is owned by node 1 (views rotate through the members).
    accept = Accept(ballot=Ballot(6, 1), slot=7, batch=(), commit_upto=0)
    effects = r.step(Receive(sender=1, message=accept))
    assert r.rejoin is None
    assert messages(effects, Accepted) == [Accepted(ballot=Ballot(6, 1), slot=7)]


def test_it_stays_mute_until_it_learned_every_slot_a_forgotten_vote_could_be_in() -> None:
    r = rejoining()
    r.step(Tick(now_ms=10))
    r.step(Receive(sender=1, message=RejoinInfo(promised=Ballot(4, 2), slot_upto=9)))
    effects = r.step(Receive(sender=2, message=RejoinInfo(promised=Ballot(4, 2), slot_upto=7)))
    assert messages(effects, CatchupRequest), "it must start learning slots 1..9"
    accept = Accept(ballot=Ballot(6, 1), slot=10, batch=(), commit_upto=9)
    assert messages(r.step(Receive(sender=1, message=accept)), Accepted) == []
    assert r.rejoin is not None  # a leader above the floor, but slots 1..9 are not learned
    entries = tuple(DecidedEntry(slot=s, batch=()) for s in range(1, 10))
    r.step(Receive(sender=1, message=CatchupReply(entries=entries)))
    effects = r.step(Receive(sender=1, message=accept))
    assert r.rejoin is None
    assert messages(effects, Accepted) == [Accepted(ballot=Ballot(6, 1), slot=10)]


def test_once_it_knows_its_floor_its_timeouts_move_views_without_a_pre_vote() -> None:
    r = rejoining()
    r.step(Tick(now_ms=10))
    r.step(Receive(sender=1, message=RejoinInfo(promised=Ballot(4, 2), slot_upto=0)))
    r.step(Receive(sender=2, message=RejoinInfo(promised=Ballot(4, 2), slot_upto=0)))
    assert r.view == 5
    effects: list[Effect] = []
    for t in range(2, 400):
        effects += r.step(Tick(now_ms=10 * t))
        assert r.leader is None  # it owns every third view, and leads none while rejoining
    # The peers follow a leader at the floor and would refuse a pre-vote: it does not ask.
    assert messages(effects, PreViewChange) == []
    assert r.view > 6
    assert ViewChange(view=r.view) in messages(effects, ViewChange)
