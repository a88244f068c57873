"""Pre-vote: a replica moves to a new view only when a phase-1 quorum would follow it.

The rule tests step one replica; the cluster tests run three replicas over a network that
delivers at once, can cut a node off and can stop one.
"""

from __future__ import annotations

from collections import deque
from random import Random

import msgspec

from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot, NodeId
from pyxos.core.io import Effect, Note, Receive, Send, Tick
from pyxos.core.multipaxos.messages import (
    Heartbeat,
    Message,
    Prepare,
    PreViewAck,
    PreViewChange,
    Promise,
    ViewChange,
)
from pyxos.core.multipaxos.records import Promised
from pyxos.core.multipaxos.replica import Replica

MEMBERS = (1, 2, 3)


def replica(node_id: int, **kw: int) -> Replica:
    return Replica(ReplicaConfig(node_id=node_id, members=MEMBERS, **kw), Random(0))


def sends(effects: list[Effect], kind: type) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and isinstance(e.message, kind)]


def test_refusals_stale_and_duplicate_acks_move_nothing() -> None:
    members5 = (1, 2, 3, 4, 5)
    r = Replica(
        ReplicaConfig(node_id=2, members=members5, election_timeout_ticks_jitter=0), Random(0)
    )
    for t in range(1, 31):
        r.step(Tick(now_ms=10 * t))
    assert r.step(Receive(sender=3, message=PreViewAck(view=1, granted=False))) == []
    assert r.step(Receive(sender=4, message=PreViewAck(view=7, granted=True))) == []
    assert r.step(Receive(sender=4, message=PreViewAck(view=1, granted=True))) == []
    assert r.step(Receive(sender=4, message=PreViewAck(view=1, granted=True))) == []
    assert r.view == 0  # nodes 2 and 4 are two of five
    effects = r.step(Receive(sender=5, message=PreViewAck(view=1, granted=True)))
    assert r.view == 1
    assert [s.to for s in sends(effects, ViewChange)] == [1, 3, 4, 5]


def test_a_follower_that_hears_a_live_leader_refuses_and_changes_nothing() -> None:
    r = replica(3, election_timeout_ticks_jitter=0)
    for t in range(1, 21):
        r.step(Tick(now_ms=10 * t))
    r.step(Receive(sender=1, message=Heartbeat(ballot=Ballot(0, 1), commit_upto=0, read_round=0)))
    heard, timeout = r.elections.heard_tick, r.elections.timeout_ticks
    ask = Receive(sender=2, message=PreViewChange(view=1))
    assert r.step(ask) == [Send(to=2, message=PreViewAck(view=1, granted=False))]
    assert (r.view, r.elections.heard_tick, r.elections.timeout_ticks) == (0, heard, timeout)
    # Once the leader has been silent for the shortest election timeout, it would follow.
    for t in range(21, 21 + r.config.election_timeout_ticks_min):
        r.step(Tick(now_ms=10 * t))
    assert r.step(ask) == [Send(to=2, message=PreViewAck(view=1, granted=True))]
    assert r.view == 0
    # A view that is not above its own is refused whatever it heard.
    r.step(Receive(sender=2, message=ViewChange(view=1)))
    assert r.step(ask) == [Send(to=2, message=PreViewAck(view=1, granted=False))]


def test_a_leader_refuses_however_long_it_has_not_heard_another() -> None:
    r = replica(1)
    r.step(Tick(now_ms=10))
    for sender in (2, 3):
        promise = Promise(ballot=Ballot(0, 1), from_slot=1, accepted=(), decided_upto=0)
        r.step(Receive(sender=sender, message=promise))
    assert r.is_leader
    for t in range(2, 200):
        r.step(Tick(now_ms=10 * t))
    ask = Receive(sender=3, message=PreViewChange(view=1))
    assert r.step(ask) == [Send(to=3, message=PreViewAck(view=1, granted=False))]


def test_hearing_the_leader_again_abandons_the_pre_vote() -> None:
    r = replica(2, election_timeout_ticks_jitter=0)
    for t in range(1, 31):
        r.step(Tick(now_ms=10 * t))
    assert r.elections.pre_vote is not None
    r.step(Receive(sender=1, message=Heartbeat(ballot=Ballot(0, 1), commit_upto=0, read_round=0)))
    assert r.step(Receive(sender=3, message=PreViewAck(view=1, granted=True))) == []
    assert r.view == 0


def test_the_pre_vote_messages_travel_in_the_message_union() -> None:
    for message in (PreViewChange(view=4), PreViewAck(view=4, granted=True)):
        assert msgspec.msgpack.decode(msgspec.msgpack.encode(message), type=Message) == message


def test_a_cluster_of_one_moves_on_at_its_timeout_without_asking() -> None:
    # It led view 0 before a restart, so it must move to view 1 (its own too) to lead again.
    config = ReplicaConfig(node_id=1, members=(1,), election_timeout_ticks_jitter=0)
    r = Replica(config, Random(0), durable=[Promised(ballot=Ballot(0, 1))])
    effects: list[Effect] = []
    for t in range(1, 31):
        effects += r.step(Tick(now_ms=10 * t))
    assert r.view == 1
    assert sends(effects, PreViewChange) == []
    assert [s.message for s in sends(effects, Prepare)] == [
        Prepare(ballot=Ballot(1, 1), from_slot=1)
    ]


class Cluster:
    """Three replicas; a message arrives at once unless its sender or receiver is cut off or
    down. Persist effects need no executing: the replicas keep their state in memory."""

    def __init__(self) -> None:
        self.replicas = {
            n: Replica(ReplicaConfig(node_id=n, members=MEMBERS), Random(n)) for n in MEMBERS
        }
        self.cut: set[NodeId] = set()
        self.down: set[NodeId] = set()
        self.notes: list[tuple[NodeId, Note]] = []
        self.now_ms = 0

    def run(self, ticks: int) -> None:
        for _ in range(ticks):
            self.now_ms += 10
            for node_id in MEMBERS:
                if node_id not in self.down:
                    self._route(node_id, self.replicas[node_id].step(Tick(now_ms=self.now_ms)))

    def _route(self, node_id: NodeId, effects: list[Effect]) -> None:
        queue = deque((node_id, e) for e in effects)
        while queue:
            src, effect = queue.popleft()
            if isinstance(effect, Note):
                self.notes.append((src, effect))
            if not isinstance(effect, Send) or effect.to in self.down:
                continue
            if src != effect.to and (src in self.cut or effect.to in self.cut):
                continue
            out = self.replicas[effect.to].step(Receive(sender=src, message=effect.message))
            queue.extend((effect.to, e) for e in out)

    def leaders(self) -> list[NodeId]:
        return [n for n, r in self.replicas.items() if r.is_leader and n not in self.down]

    def noted(self, kind: str, node_id: NodeId | None = None) -> int:
        return sum(1 for n, note in self.notes if note.kind == kind and node_id in (None, n))


def test_a_cut_off_replica_keeps_asking_and_never_raises_its_view() -> None:
    c = Cluster()
    c.run(20)
    assert c.leaders() == [1]
    c.cut = {3}
    c.run(2000)
    assert c.replicas[3].view == 0
    assert c.noted("pre_vote", 3) >= 8  # it asked at every timeout (up to 240 ticks apart)
    assert c.noted("view_change") == 0
    assert c.leaders() == [1]


def test_reconnecting_a_cut_off_replica_does_not_change_the_leader() -> None:
    c = Cluster()
    c.run(20)
    c.cut = {3}
    c.run(2000)
    elected = c.noted("leader")
    c.cut = set()
    c.run(500)
    assert c.leaders() == [1]
    assert [r.view for r in c.replicas.values()] == [0, 0, 0]
    assert c.noted("leader") == elected and c.noted("view_change") == 0
    assert c.replicas[3].elections.churn == 0  # it heard the leader: its timeout is short again


def test_a_leader_that_fails_is_still_replaced() -> None:
    c = Cluster()
    c.run(20)
    c.down = {1}
    c.run(200)
    assert len(c.leaders()) == 1 and c.leaders()[0] in (2, 3)
    assert c.replicas[2].view == c.replicas[3].view > 0


def test_a_cut_off_leader_is_replaced_and_steps_down_when_healed() -> None:
    c = Cluster()
    c.run(20)
    c.cut = {1}
    c.run(200)
    assert len(c.leaders()) == 2  # node 1 cannot know yet
    new = [n for n in c.leaders() if n != 1]
    c.cut = set()
    c.run(50)
    assert c.leaders() == new
