"""One object's Paxos log at one replica: what it promised, accepted and learned.

The acceptor side answers phase 1 and phase 2 for the object, each answer after the `Persist`
that makes it durable; the learner side keeps the decided values and the commit point, and
hands them on in slot order. Every object has its own ballots: a promise for one object says
nothing about another.
"""

from __future__ import annotations

from pyxos.core.commands import Batch
from pyxos.core.ids import BALLOT_ZERO, Ballot, NodeId, Slot
from pyxos.core.io import Effect, Persist, Send
from pyxos.core.wpaxos.messages import (
    Accept,
    Accepted,
    AcceptedEntry,
    DecidedEntry,
    Prepare,
    Promise,
    Reject,
)
from pyxos.core.wpaxos.records import AcceptedValue, DecidedValue, Promised

DURABLE_FIRST = Persist(records=(), barrier=True)
"""Holds the effects after it until every record before it is durable. How far a member says
it has learned an object's log (`Accepted`, `Learned`) lets peers forget those values, so it
must never be more than a crash would leave it (the decided values are written without a
barrier of their own)."""


class ObjectLog:
    """The acceptor and learner state of one object."""

    __slots__ = (
        "accepted",
        "asked_tick",
        "commit_hint",
        "decided",
        "decided_upto",
        "delivered_upto",
        "key",
        "promised",
        "stable_upto",
        "truncated",
    )

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.promised: Ballot = BALLOT_ZERO
        self.accepted: dict[Slot, tuple[Ballot, Batch]] = {}
        self.decided: dict[Slot, Batch] = {}
        self.decided_upto: Slot = 0  # every slot up to here is decided
        self.delivered_upto: Slot = 0  # every slot up to here was handed on
        self.commit_hint: Slot = 0  # the highest commit point any owner announced
        self.asked_tick = -(1 << 30)  # the last catch-up request
        self.stable_upto: Slot = 0  # every member has learned every slot up to here
        self.truncated: Slot = 0  # values up to here are forgotten (a snapshot holds them)

    @property
    def owner(self) -> NodeId | None:
        """The node this replica believes owns the object (that of its promise), if any."""
        return None if self.promised == BALLOT_ZERO else self.promised.node

    # ---- acceptor ---------------------------------------------------------------------------
    def on_prepare(self, sender: NodeId, msg: Prepare) -> list[Effect]:
        if msg.ballot < self.promised:
            reject = Reject(obj=self.key, ballot=msg.ballot, promised=self.promised)
            return [Send(to=sender, message=reject)]
        accepted = tuple(
            AcceptedEntry(slot=slot, ballot=ballot, batch=batch)
            for slot, (ballot, batch) in sorted(self.accepted.items())
            if slot >= msg.from_slot
        )
        learned = tuple(
            DecidedEntry(slot=slot, batch=batch)
            for slot, batch in sorted(self.decided.items())
            if slot >= msg.from_slot and slot not in self.accepted
        )
        promise = Send(
            to=sender,
            message=Promise(
                obj=self.key,
                ballot=msg.ballot,
                from_slot=msg.from_slot,
                accepted=accepted,
                decided_upto=self.decided_upto,
                decided=learned,
            ),
        )
        if msg.ballot == self.promised:
            return [promise]  # promised before: the record is durable, or ahead in the gate
        self.promised = msg.ballot
        return [Persist(records=(Promised(obj=self.key, ballot=msg.ballot),)), promise]

    def promise_own(self, ballot: Ballot) -> Persist:
        """The stealer promises its own ballot first, so it never reuses it after a restart."""
        self.promised = ballot
        return Persist(records=(Promised(obj=self.key, ballot=ballot),))

    def on_accept(self, sender: NodeId, msg: Accept) -> list[Effect]:
        if msg.slot <= self.truncated:
            return []  # every member learned that slot long ago: an old retransmission
        if msg.ballot < self.promised:
            reject = Reject(obj=self.key, ballot=msg.ballot, promised=self.promised)
            return [Send(to=sender, message=reject)]
        self.promised = msg.ballot
        ack = Send(
            to=sender,
            message=Accepted(
                obj=self.key, ballot=msg.ballot, slot=msg.slot, decided_upto=self.decided_upto
            ),
        )
        if self.accepted.get(msg.slot) == (msg.ballot, msg.batch):
            # A retransmission: the acceptance is durable, or ahead in the gate. The barrier
            # holds the answer until the values it says we learned are durable too.
            return [DURABLE_FIRST, ack]
        self.accepted[msg.slot] = (msg.ballot, msg.batch)
        record = AcceptedValue(obj=self.key, slot=msg.slot, ballot=msg.ballot, batch=msg.batch)
        return [Persist(records=(record,)), ack]

    # ---- compaction -------------------------------------------------------------------------
    def restore(self, applied: Slot, kept_from: Slot, promised: Ballot) -> None:
        """Start from a snapshot's cut: everything up to `applied` is in the node's state."""
        self.decided_upto = self.delivered_upto = self.commit_hint = applied
        self.truncated = self.stable_upto = kept_from - 1
        self.promised = max(self.promised, promised)

    def keep(self, slot: Slot, batch: Batch) -> None:
        """A decided value the node's state already holds, kept to answer peers that ask."""
        if self.truncated < slot <= self.decided_upto:
            self.decided.setdefault(slot, batch)

    def truncate(self, applied: Slot) -> Slot:
        """The node's state holds every slot up to `applied`: forget the values up to what
        every member has learned too, and return the first slot still kept."""
        upto = min(applied, self.stable_upto, self.delivered_upto)
        if upto > self.truncated:
            for slot in range(self.truncated + 1, upto + 1):
                self.decided.pop(slot, None)
                self.accepted.pop(slot, None)
            self.truncated = upto
        return self.truncated + 1

    # ---- learner ----------------------------------------------------------------------------
    def learn(self, slot: Slot, batch: Batch) -> DecidedValue | None:
        """`batch` was chosen in `slot`; the record to persist if that is news."""
        if slot <= self.decided_upto or slot in self.decided:
            return None
        self.decided[slot] = batch
        self.commit_hint = max(self.commit_hint, slot)
        upto = self.decided_upto
        while upto + 1 in self.decided:
            upto += 1
        self.decided_upto = upto
        return DecidedValue(obj=self.key, slot=slot, batch=batch)

    def commit_point(self, ballot: Ballot, upto: Slot) -> list[tuple[Slot, Batch]]:
        """The owner of `ballot` says slots up to `upto` are decided: the ones this replica
        accepted at exactly that ballot hold the chosen value (the owner proposes one value per
        slot per ballot). Returns them, to learn."""
        self.commit_hint = max(self.commit_hint, upto)
        found = []
        for slot in range(self.decided_upto + 1, upto + 1):
            if slot in self.decided:
                continue
            entry = self.accepted.get(slot)
            if entry is not None and entry[0] == ballot:
                found.append((slot, entry[1]))
        return found

    def missing(self) -> bool:
        """True if slots were decided somewhere that this replica has not learned."""
        return self.commit_hint > self.decided_upto

    def deliverable(self) -> list[tuple[Slot, Batch]]:
        """The newly contiguous decided slots, in order (and marked delivered)."""
        out = []
        while self.delivered_upto < self.decided_upto:
            self.delivered_upto += 1
            out.append((self.delivered_upto, self.decided[self.delivered_upto]))
        return out

    def entries(self, from_slot: Slot, upto: Slot, limit: int) -> tuple[DecidedEntry, ...]:
        """Decided values in `from_slot..upto`, in order, at most `limit`."""
        out: list[DecidedEntry] = []
        for slot in range(max(from_slot, 1), upto + 1):
            batch = self.decided.get(slot)
            if batch is not None:
                out.append(DecidedEntry(slot=slot, batch=batch))
                if len(out) >= limit:
                    break
        return tuple(out)
