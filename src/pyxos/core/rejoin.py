"""Rejoining after losing the disk: a replica that forgot its votes must not vote until safe.

Theory of operation. A replica whose log was damaged is rebuilt empty: it has forgotten which
ballots it promised and which values it accepted. Voting at once could break Paxos in two ways:
it could accept below a ballot it promised before (a leader counted that promise), and it could
report nothing in phase 1 for a slot where its forgotten vote helped choose a value.

The rule, after *Paxos Made Live* ("a replica rebuilding its state does not vote until it has
observed a complete instance started after it began rebuilding"):

1. Ask every peer for its promise and take the highest, `floor`, then durably promise `floor`
   and ask for a new view (a stable leader at `floor` would otherwise never release us).
   A leader durably promises its own ballot before it sends `Prepare`, so every ballot this
   replica could have promised is at most `floor`: it will never accept below one again.
   Every peer must answer (a peer that is down could be the owner of the highest ballot).
2. With the same answers, learn `slot_floor`: the highest slot any peer accepted, learned or
   proposed. A forgotten vote can only be in a slot up to it (every peer answered, a live
   leader included). Stay mute until every slot up to `slot_floor` is learned: from then on
   the replica knows the chosen value of every slot it may have voted in, and its promises
   report them (`Promise.decided`), so no phase 1 can miss a value chosen with its vote.
3. Also stay mute (no `Promise`, `Accepted` or `HeartbeatAck`, never lead) until a leader whose
   ballot is above `floor` is heard in phase 2: that leader completed phase 1 without this
   replica, so its phase-1 quorum met every quorum that chose a value with a forgotten vote.

(Simulator seed 906 found the need for step 2: a leader re-proposes only the slots above its
own decided prefix, so step 3 alone left a forgotten vote in a slot below it unprotected.)

While mute the replica still follows views and learns decided values (catch-up, snapshots).
Once it knows its floor, an election timeout moves it to the next view at once, without the
pre-vote of `prevote.py`: the leader its peers hear is at or below the floor and would keep them
from supporting it, and only a new view can release it. It still never leads while rejoining.
Two replicas must not rejoin at the same time: a rejoining replica does not answer queries
until it knows its own floor, so each would wait for the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyxos.core.ids import Ballot, NodeId, Slot
from pyxos.core.io import Effect, Note, Send
from pyxos.core.messages import (
    Accept,
    Heartbeat,
    Message,
    Prepare,
    RejoinInfo,
    RejoinQuery,
    ViewChange,
)

if TYPE_CHECKING:
    from pyxos.core.replica import Replica


class Rejoin:
    """The state of a replica that is rejoining: who answered, and the floor once known."""

    __slots__ = ("answers", "floor", "query_tick", "slot_floor")

    def __init__(self) -> None:
        self.answers: dict[NodeId, tuple[Ballot, Slot]] = {}
        self.floor: Ballot | None = None
        # Every slot a forgotten vote could be in is at or below this: we must learn them all.
        self.slot_floor: Slot = 0
        self.query_tick = -(10**9)

    def on_info(
        self, sender: NodeId, promised: Ballot, slot_upto: Slot, peers: tuple[NodeId, ...]
    ) -> bool:
        """Record a peer's answer; True when the last missing answer fixed the floors."""
        if self.floor is not None or sender not in peers:
            return False
        before = self.answers.get(sender, (promised, slot_upto))
        self.answers[sender] = (max(promised, before[0]), max(slot_upto, before[1]))
        if len(self.answers) < len(peers):
            return False
        self.floor = max(promised for promised, _ in self.answers.values())
        self.slot_floor = max(slot for _, slot in self.answers.values())
        return True

    def releases(self, ballot: Ballot, decided_upto: Slot) -> bool:
        """True if voting is safe again: a leader is heard in phase 2 above the floor, and we
        have learned every slot up to the slot floor."""
        return self.floor is not None and ballot > self.floor and decided_upto >= self.slot_floor


def while_rejoining(replica: Replica, sender: NodeId, msg: Message) -> list[Effect] | None:
    """Handle `msg` for a replica that is rejoining (mute); None lets its normal handler take
    it."""
    rejoin = replica.rejoin
    assert rejoin is not None
    match msg:
        case RejoinInfo(promised=promised, slot_upto=slot_upto):
            if not rejoin.on_info(sender, promised, slot_upto, replica.config.peers):
                return []
            floor = rejoin.floor
            assert floor is not None
            # Learn every slot a forgotten vote could be in (catch-up starts now).
            learner = replica.learner
            learner.commit_hint = max(learner.commit_hint, rejoin.slot_floor)
            # The leader we hear may well lead at `floor` itself and never change: ask for a
            # new view, whose leader will prepare above the floor and release us.
            view = max(replica.view, floor.round) + 1
            return [
                *replica.acceptor.promise_floor(floor),
                Note(kind="rejoin_floor", detail=f"floor={floor}"),
                *(Send(to=p, message=ViewChange(view=view)) for p in replica.config.peers),
                *replica._enter_view(view),
            ]
        case RejoinQuery():
            if rejoin.floor is None:
                return []  # our promise means nothing yet
            return [Send(to=sender, message=rejoin_info(replica))]
        case Accept(ballot=ballot) | Heartbeat(ballot=ballot) if rejoin.releases(
            ballot, replica.learner.decided_upto
        ):
            replica.rejoin = None
            effects: list[Effect] = [Note(kind="rejoined", detail=f"ballot={ballot}")]
            effects.extend(replica._on_message(sender, msg))
            return effects
        case Accept(ballot=ballot, commit_upto=upto) | Heartbeat(ballot=ballot, commit_upto=upto):
            # Follow the leader and learn, but cast no vote.
            effects = replica._observe(ballot)
            if ballot.round == replica.view:
                replica.heard_leader()
            replica.learner.commit_hint = max(replica.learner.commit_hint, upto)
            return effects
        case Prepare(ballot=ballot):
            effects = replica._observe(ballot)
            replica.heard_tick = replica.tick
            return effects
        case _:
            return None


def rejoin_info(replica: Replica) -> RejoinInfo:
    """Our promise, and the highest slot we accepted, learned or proposed."""
    slot_upto = max(
        max(replica.acceptor.accepted, default=0),
        replica.acceptor.compacted_upto,
        replica.learner.commit_hint,
        replica.learner.decided_upto,
    )
    if replica.leader is not None:
        slot_upto = max(slot_upto, replica.leader.next_slot - 1)
    return RejoinInfo(promised=replica.acceptor.promised, slot_upto=slot_upto)
