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

`Rejoin` screens every message a rejoining replica receives and says what to do with it (a
`Verdict`); the replica acts on the verdict, since it owns the acceptor, learner and views.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyxos.core.ids import Ballot, NodeId, Slot
from pyxos.core.io import PeerMessage
from pyxos.core.multipaxos.messages import (
    Accept,
    Heartbeat,
    Prepare,
    RejoinInfo,
    RejoinQuery,
)


@dataclass(frozen=True, slots=True)
class Drop:
    """Say nothing and change nothing (a vote we may not cast, or a query we cannot answer)."""


@dataclass(frozen=True, slots=True)
class Handle:
    """Handle the message as a replica that is not rejoining would."""


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer the `RejoinQuery` with our own `RejoinInfo` (our floor is known)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FloorKnown:
    """Every peer answered: promise `floor`, learn every slot up to `slot_floor`, and move to a
    view above the floor (the leader we hear may lead at the floor for ever)."""

    floor: Ballot
    slot_floor: Slot


@dataclass(frozen=True, slots=True, kw_only=True)
class Released:
    """Voting is safe again: stop rejoining, then handle the message normally."""

    ballot: Ballot


@dataclass(frozen=True, slots=True, kw_only=True)
class Follow:
    """Follow the leader of `ballot` and learn its commit point `commit_upto`, but cast no
    vote."""

    ballot: Ballot
    commit_upto: Slot


@dataclass(frozen=True, slots=True, kw_only=True)
class Observe:
    """A `Prepare`: follow its view and wait for its phase 1, but do not promise."""

    ballot: Ballot


Verdict = Drop | Handle | Answer | FloorKnown | Released | Follow | Observe
DROP = Drop()
HANDLE = Handle()
ANSWER = Answer()


class Rejoin:
    """The state of a replica that is rejoining: who answered, and the floor once known."""

    __slots__ = ("answers", "floor", "query_tick", "slot_floor")

    def __init__(self) -> None:
        self.answers: dict[NodeId, tuple[Ballot, Slot]] = {}
        self.floor: Ballot | None = None
        # Every slot a forgotten vote could be in is at or below this: we must learn them all.
        self.slot_floor: Slot = 0
        self.query_tick = -(10**9)

    def query_due(self, tick: int, retransmit_ticks: int) -> bool:
        """True if we must ask every peer (again) for its promise: until all have answered."""
        if self.floor is not None or tick - self.query_tick < retransmit_ticks:
            return False
        self.query_tick = tick
        return True

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

    def screen(
        self, sender: NodeId, msg: PeerMessage, decided_upto: Slot, peers: tuple[NodeId, ...]
    ) -> Verdict:
        """What a rejoining replica does with `msg` from `sender`."""
        match msg:
            case RejoinInfo(promised=promised, slot_upto=slot_upto):
                if not self.on_info(sender, promised, slot_upto, peers):
                    return DROP
                assert self.floor is not None
                return FloorKnown(floor=self.floor, slot_floor=self.slot_floor)
            case RejoinQuery():
                return DROP if self.floor is None else ANSWER  # our promise means nothing yet
            case Accept(ballot=ballot) | Heartbeat(ballot=ballot) if self.releases(
                ballot, decided_upto
            ):
                return Released(ballot=ballot)
            case (
                Accept(ballot=ballot, commit_upto=upto) | Heartbeat(ballot=ballot, commit_upto=upto)
            ):
                return Follow(ballot=ballot, commit_upto=upto)
            case Prepare(ballot=ballot):
                return Observe(ballot=ballot)
            case _:
                return HANDLE


def rejoin_info(
    promised: Ballot, accepted_upto: Slot, compacted_upto: Slot, learned_upto: Slot
) -> RejoinInfo:
    """Our answer to a `RejoinQuery`: our promise, and the highest slot we accepted, learned or
    (as leader) proposed (`accepted_upto`, `compacted_upto` and `learned_upto` are the
    acceptor's, and the learner's and leader's highest, as the replica knows them)."""
    return RejoinInfo(promised=promised, slot_upto=max(accepted_upto, compacted_upto, learned_upto))
