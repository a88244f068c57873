"""The acceptor: promises and acceptances, made durable before they are announced.

Theory of operation. An acceptor keeps the highest ballot it promised and, per slot, the
highest-ballot value it accepted. It answers a `Prepare` at a ballot at least its promise with a
`Promise` reporting what it accepted from the prepare's first slot on, and an `Accept` at a
ballot at least its promise by accepting. Both answers depend on durable state, so each is
returned after the `Persist` that records it (accepting at ballot b is also a promise of b, so an
`AcceptedValue` record needs no separate `Promised` record). A request below the promise gets a
`Reject` carrying the promise, which tells a deposed leader which view to move to.

Paxos for System Builders, section 3: "an acceptor must write its promise and its acceptance to
stable storage before responding".
"""

from __future__ import annotations

from collections.abc import Sequence

from pyxos.core.commands import Batch
from pyxos.core.ids import BALLOT_ZERO, Ballot, NodeId, Slot
from pyxos.core.io import Effect, Persist, Send
from pyxos.core.multipaxos.messages import (
    Accept,
    Accepted,
    AcceptedEntry,
    DecidedEntry,
    Prepare,
    Promise,
    Reject,
)
from pyxos.core.multipaxos.records import AcceptedValue, Promised, Record
from pyxos.core.snapshot import Snapshot


def may_accept(promised: Ballot, ballot: Ballot) -> bool:
    """An acceptor may accept (or promise) `ballot` unless it promised a higher one."""
    return ballot >= promised


def answer_after_persist(persist: Persist, answer: Send) -> list[Effect]:
    """The answer that depends on `persist` leaves only after it (the barrier order)."""
    return [persist, answer]


class Acceptor:
    """Durable promise and accepted values of one replica."""

    __slots__ = ("accepted", "compacted_upto", "node_id", "promised")

    def __init__(self, node_id: NodeId) -> None:
        self.node_id = node_id
        self.promised: Ballot = BALLOT_ZERO
        self.accepted: dict[Slot, tuple[Ballot, Batch]] = {}
        # Slots up to here are decided and covered by a snapshot: what we accepted there is gone.
        self.compacted_upto: Slot = 0

    def compact(self, slot: Slot) -> None:
        """Forget acceptances at or below `slot` (decided, and covered by a snapshot)."""
        if slot <= self.compacted_upto:
            return
        self.compacted_upto = slot
        self.accepted = {s: v for s, v in self.accepted.items() if s > slot}

    def recover(self, records: Sequence[Record], snapshot: Snapshot | None = None) -> None:
        """Rebuild from the latest snapshot and the durable records, in written order."""
        if snapshot is not None:
            self.promised = max(self.promised, snapshot.promised)
        for record in records:
            match record:
                case Promised(ballot=ballot):
                    self.promised = max(self.promised, ballot)
                case AcceptedValue(slot=slot, ballot=ballot, batch=batch):
                    self.promised = max(self.promised, ballot)
                    previous = self.accepted.get(slot)
                    if previous is None or previous[0] <= ballot:
                        self.accepted[slot] = (ballot, batch)
                case _:
                    pass
        if snapshot is not None:
            self.compact(snapshot.slot)

    def promise_own(self, ballot: Ballot) -> Persist:
        """The leader promises its own ballot first, so it can never reuse it after a restart."""
        self.promised = ballot
        return Persist(records=(Promised(ballot=ballot),))

    def promise_floor(self, floor: Ballot) -> list[Effect]:
        """A rejoining replica promises at least `floor` before it votes again."""
        if floor <= self.promised:
            return []
        self.promised = floor
        return [Persist(records=(Promised(ballot=floor),))]

    def on_prepare(
        self, sender: NodeId, msg: Prepare, decided_upto: Slot, decided: dict[Slot, Batch]
    ) -> list[Effect]:
        """Answer phase 1. `decided` holds the chosen values this replica has learned."""
        if not may_accept(self.promised, msg.ballot):
            return [Send(to=sender, message=Reject(ballot=msg.ballot, promised=self.promised))]
        accepted = tuple(
            AcceptedEntry(slot=slot, ballot=ballot, batch=batch)
            for slot, (ballot, batch) in sorted(self.accepted.items())
            if slot >= msg.from_slot
        )
        # A chosen value we learned without accepting it: after a rebuild we may have voted for
        # it and forgotten, so we must still speak for it in phase 1.
        learned = tuple(
            DecidedEntry(slot=slot, batch=batch)
            for slot, batch in sorted(decided.items())
            if slot >= msg.from_slot and slot not in self.accepted
        )
        promise = Send(
            to=sender,
            message=Promise(
                ballot=msg.ballot,
                from_slot=msg.from_slot,
                accepted=accepted,
                decided_upto=decided_upto,
                compacted_upto=self.compacted_upto,
                decided=learned,
            ),
        )
        if msg.ballot == self.promised:
            # Already promised (a retransmission, or our own ballot): the record that justifies
            # the promise was persisted earlier and the driver keeps effects in order.
            return [promise]
        self.promised = msg.ballot
        return answer_after_persist(Persist(records=(Promised(ballot=msg.ballot),)), promise)

    def on_accept(self, sender: NodeId, msg: Accept) -> list[Effect]:
        if not may_accept(self.promised, msg.ballot):
            return [Send(to=sender, message=Reject(ballot=msg.ballot, promised=self.promised))]
        self.promised = max(self.promised, msg.ballot)
        ack = Send(to=sender, message=Accepted(ballot=msg.ballot, slot=msg.slot))
        if self.accepted.get(msg.slot) == (msg.ballot, msg.batch):
            return [ack]  # a retransmitted Accept: already durable, ordered behind its Persist
        self.accepted[msg.slot] = (msg.ballot, msg.batch)
        record = AcceptedValue(slot=msg.slot, ballot=msg.ballot, batch=msg.batch)
        return answer_after_persist(Persist(records=(record,)), ack)

    def accepted_at(self, slot: Slot, ballot: Ballot) -> Batch | None:
        """The value accepted in `slot` if it was accepted exactly at `ballot`."""
        entry = self.accepted.get(slot)
        if entry is not None and entry[0] == ballot:
            return entry[1]
        return None
