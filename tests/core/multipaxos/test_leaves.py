"""Rule tests for the Multi-Paxos roles, each on its own: build a state, step one input, compare
the exact effects (the etcd-io/raft style). The roles are leaf objects: none of them needs a
replica around it."""

from __future__ import annotations

from random import Random

from pyxos.core.clock import LeaderClock
from pyxos.core.commands import Command
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot
from pyxos.core.io import Deliver, Note, ReadIndexReady, Send
from pyxos.core.multipaxos import rejoin
from pyxos.core.multipaxos.catchup import CatchUp
from pyxos.core.multipaxos.leader import Leader
from pyxos.core.multipaxos.learner import Learner
from pyxos.core.multipaxos.messages import (
    Accept,
    AcceptedEntry,
    CatchupReply,
    CatchupRequest,
    DecidedEntry,
    Heartbeat,
    Prepare,
    Promise,
    RejoinInfo,
    RejoinQuery,
    SnapshotTransfer,
)
from pyxos.core.multipaxos.records import DecidedValue
from pyxos.core.multipaxos.views import Elections, view_ballot, view_owner
from pyxos.core.quorum import Flexible
from pyxos.core.snapshot import Snapshot

MEMBERS = (1, 2, 3)
A = (Command(client_id=7, seq=1, op=b"a"),)
B = (Command(client_id=8, seq=1, op=b"b"),)


def config(node_id: int = 1, **kw: object) -> ReplicaConfig:
    return ReplicaConfig(node_id=node_id, members=kw.pop("members", MEMBERS), **kw)  # type: ignore[arg-type]


# ---- learner --------------------------------------------------------------------------------
def test_the_learner_delivers_in_slot_order_without_gaps() -> None:
    learner = Learner()
    assert learner.learn(2, B) == DecidedValue(slot=2, batch=B)
    assert learner.deliver() == []  # slot 1 is missing
    assert learner.missing()
    assert learner.learn(1, A) == DecidedValue(slot=1, batch=A)
    assert learner.deliver() == [Deliver(slot=1, batch=A), Deliver(slot=2, batch=B)]
    assert learner.learn(1, B) is None  # learned once, never again
    assert not learner.missing()


def test_the_learner_installs_a_snapshot_as_decided_and_delivered() -> None:
    learner = Learner()
    learner.learn(12, A)
    learner.install(10)
    assert (learner.decided_upto, learner.delivered_upto) == (10, 10)
    learner.learn(11, B)
    assert learner.deliver() == [Deliver(slot=11, batch=B), Deliver(slot=12, batch=A)]


def test_catch_up_entries_stop_at_the_byte_bound_but_carry_at_least_one() -> None:
    learner = Learner()
    big = (Command(client_id=1, seq=1, op=b"x" * 100),)
    for slot in (1, 2, 3):
        learner.learn(slot, big)
    assert learner.entries(1, 3, limit=10, bytes_max=150) == (DecidedEntry(slot=1, batch=big),)
    assert len(learner.entries(1, 3, limit=10, bytes_max=1)) == 1
    assert len(learner.entries(1, 3, limit=2, bytes_max=10_000)) == 2


# ---- leader ---------------------------------------------------------------------------------
B11 = Ballot(1, 1)


def _leader(cfg: ReplicaConfig) -> Leader:
    return Leader(cfg, Learner(), B11, 0, LeaderClock())


def _promise(sender_accepted: tuple[AcceptedEntry, ...] = ()) -> Promise:
    return Promise(ballot=Ballot(1, 1), from_slot=1, accepted=sender_accepted, decided_upto=0)


def test_the_leader_prepares_from_its_first_undecided_slot() -> None:
    leader = _leader(config())
    assert leader.prepare_messages((2, 3)) == [
        Send(to=2, message=Prepare(ballot=Ballot(1, 1), from_slot=1)),
        Send(to=3, message=Prepare(ballot=Ballot(1, 1), from_slot=1)),
    ]


def test_phase_one_completes_on_a_quorum_and_reproposes_what_it_found() -> None:
    leader = _leader(config())
    assert leader.on_promise(1, _promise(), tick=1) == []
    found = (AcceptedEntry(slot=2, ballot=Ballot(0, 3), batch=B),)
    effects = leader.on_promise(3, _promise(found), tick=1)
    assert leader.prepared
    assert effects == [
        Note(kind="leader", detail="ballot=1.1"),
        *(
            Send(to=m, message=Accept(ballot=Ballot(1, 1), slot=1, batch=(), commit_upto=0))
            for m in MEMBERS
        ),
        Note(kind="repropose", detail="slot=2"),
        *(
            Send(to=m, message=Accept(ballot=Ballot(1, 1), slot=2, batch=B, commit_upto=0))
            for m in MEMBERS
        ),
    ]


def test_a_phase_two_quorum_decides_a_slot() -> None:
    leader = _leader(config())
    leader.on_promise(1, _promise(), tick=1)
    leader.on_promise(2, _promise(), tick=1)
    leader.enqueue(A)
    leader.fill(tick=2)
    assert leader.on_accepted(1, 1, tick=2) is None
    proposal = leader.on_accepted(3, 1, tick=2)
    assert proposal is not None and proposal.acks == {1, 3}


def test_thrifty_sends_phase_two_to_a_smallest_quorum_with_the_peers_heard_last() -> None:
    members = (1, 2, 3, 4, 5)
    cfg = config(members=members, quorum=Flexible(members, q1_size=4, q2_size=2), thrifty=True)
    leader = _leader(cfg)
    for sender in (1, 2, 3, 4):
        leader.on_promise(sender, _promise(), tick=1)
    leader.on_heartbeat_ack(2, read_round=0, decided_upto=0, tick=3)
    leader.on_heartbeat_ack(4, read_round=0, decided_upto=0, tick=5)
    leader.enqueue(A)
    accept = Accept(ballot=Ballot(1, 1), slot=1, batch=A, commit_upto=0)
    assert leader.fill(tick=6) == [Send(to=1, message=accept), Send(to=4, message=accept)]
    # Unanswered in time, the Accept goes to every member that has not acknowledged it.
    leader.on_accepted(1, 1, tick=6)
    resent = leader.retransmit(tick=6 + cfg.retransmit_ticks)
    assert resent == [Send(to=m, message=accept) for m in (2, 3, 4, 5)]


def test_a_read_waits_for_a_quorum_of_acks_of_a_round_that_started_after_it() -> None:
    leader = _leader(config())
    leader.on_promise(1, _promise(), tick=1)
    leader.on_promise(2, _promise(), tick=1)
    leader.add_read(1, (7,))
    assert leader.confirm_reads() == []
    beats = leader.heartbeat(tick=2, force=True)
    assert beats == [
        Send(to=p, message=Heartbeat(ballot=Ballot(1, 1), commit_upto=0, read_round=1))
        for p in (2, 3)
    ]
    assert leader.on_heartbeat_ack(2, read_round=0, decided_upto=0, tick=2) == []  # too old
    effects = leader.on_heartbeat_ack(3, read_round=1, decided_upto=0, tick=2)
    assert effects == [ReadIndexReady(request_ids=(7,), index=0)]


# ---- views and elections --------------------------------------------------------------------
def test_views_rotate_through_the_members() -> None:
    assert [view_owner(MEMBERS, v) for v in range(4)] == [1, 2, 3, 1]
    assert view_ballot(MEMBERS, 4) == Ballot(4, 2)


def test_the_election_timeout_expires_and_doubles_with_churn() -> None:
    elections = Elections(config(2, election_timeout_ticks_jitter=0), Random(0), view=0)
    assert not elections.expired(29) and elections.expired(30)
    assert elections.time_out(30) == 1
    assert elections.timeout_ticks == 60 and elections.churn == 1
    elections.progress(31)
    assert elections.timeout_ticks == 30 and elections.churn == 0


def test_support_for_a_new_view_needs_a_quiet_leader_and_a_higher_view() -> None:
    elections = Elections(config(2), Random(0), view=3)
    elections.heard_leader(100)
    assert not elections.supports(4, tick=110, leading=False)  # the leader was heard lately
    assert elections.supports(4, tick=130, leading=False)
    assert not elections.supports(3, tick=130, leading=False)  # not above ours
    assert not elections.supports(4, tick=130, leading=True)


def test_a_pre_vote_succeeds_with_a_phase_one_quorum_of_supporters() -> None:
    elections = Elections(config(2), Random(0), view=0)
    elections.ask(1, node_id=2)
    assert not elections.supported(3, view=1, granted=False)
    assert not elections.supported(3, view=2, granted=True)  # another view's answer
    assert elections.supported(3, view=1, granted=True)


# ---- catch-up -------------------------------------------------------------------------------
def test_catch_up_asks_the_leader_first_then_a_random_peer() -> None:
    catchup = CatchUp(config(3), Random(1))
    learner = Learner()
    learner.commit_hint = 5
    assert catchup.due(tick=0, learner=learner)
    first = catchup.request(0, learner, owner=1)
    assert first == Send(to=1, message=CatchupRequest(from_slot=1, upto=5))
    assert not catchup.due(tick=1, learner=learner)
    second = catchup.request(20, learner, owner=1)
    assert second.to in (1, 2)


def test_catch_up_is_served_from_the_snapshot_below_its_slot() -> None:
    catchup = CatchUp(config(1), Random(1))
    learner = Learner()
    learner.learn(6, A)
    snapshot = Snapshot(slot=5, promised=Ballot(1, 1), state=b"s", time_ms=42)
    assert catchup.serve(2, 3, 6, learner, snapshot) == [
        Send(to=2, message=SnapshotTransfer(slot=5, state=b"s", time_ms=42))
    ]
    assert catchup.serve(2, 6, 6, learner, snapshot) == [
        Send(to=2, message=CatchupReply(entries=(DecidedEntry(slot=6, batch=A),)))
    ]
    assert catchup.serve(2, 7, 9, learner, snapshot) == []


# ---- rejoin ---------------------------------------------------------------------------------
def test_rejoin_waits_for_every_peer_then_knows_its_floors() -> None:
    state = rejoin.Rejoin()
    info = RejoinInfo(promised=Ballot(4, 2), slot_upto=9)
    assert state.screen(2, info, 0, peers=(2, 3)) == rejoin.DROP
    assert state.screen(2, RejoinQuery(), 0, peers=(2, 3)) == rejoin.DROP  # no floor yet
    other = RejoinInfo(promised=Ballot(3, 3), slot_upto=12)
    assert state.screen(3, other, 0, peers=(2, 3)) == rejoin.FloorKnown(
        floor=Ballot(4, 2), slot_floor=12
    )
    assert state.screen(3, RejoinQuery(), 0, peers=(2, 3)) == rejoin.ANSWER


def test_rejoin_follows_without_voting_until_a_leader_above_the_floor_with_everything_learned() -> (
    None
):
    state = rejoin.Rejoin()
    state.screen(2, RejoinInfo(promised=Ballot(4, 2), slot_upto=3), 0, peers=(2,))
    at_floor = Accept(ballot=Ballot(4, 2), slot=4, batch=A, commit_upto=3)
    assert state.screen(2, at_floor, 3, peers=(2,)) == rejoin.Follow(
        ballot=Ballot(4, 2), commit_upto=3
    )
    above = Heartbeat(ballot=Ballot(5, 3), commit_upto=3, read_round=0)
    assert state.screen(3, above, 2, peers=(2,)) == rejoin.Follow(
        ballot=Ballot(5, 3), commit_upto=3
    )  # slot 3 is not learned yet
    assert state.screen(3, above, 3, peers=(2,)) == rejoin.Released(ballot=Ballot(5, 3))
    prepare = Prepare(ballot=Ballot(6, 1), from_slot=1)
    assert state.screen(1, prepare, 3, peers=(2,)) == rejoin.Observe(ballot=Ballot(6, 1))
