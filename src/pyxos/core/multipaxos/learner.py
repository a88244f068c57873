"""The learner: which values were chosen, delivered strictly in slot order.

A replica learns that a slot is decided in three ways: as the leader, from a phase-2 quorum of
`Accepted`; as a follower, from the leader's commit point (`Commit`, or the one carried by
`Accept` and `Heartbeat`) for every slot it accepted at the leader's ballot; and from a peer's
`CatchupReply` for the slots it missed. Delivery is separate from learning: values may be learned
out of order, but `Deliver` effects leave in slot order with no gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyxos.core.commands import Batch
from pyxos.core.ids import Slot
from pyxos.core.io import Deliver, Effect
from pyxos.core.multipaxos.messages import DecidedEntry
from pyxos.core.multipaxos.records import DecidedValue, Record


class Learner:
    """Decided values and the delivery cursor."""

    __slots__ = ("commit_hint", "decided", "decided_upto", "delivered_upto")

    def __init__(self) -> None:
        self.decided: dict[Slot, Batch] = {}
        # Every slot up to here is decided (the contiguous prefix).
        self.decided_upto: Slot = 0
        # Every slot up to here was handed to the state machine.
        self.delivered_upto: Slot = 0
        # The highest commit point any leader told us about: slots up to here are decided
        # somewhere, even if we do not know their values yet.
        self.commit_hint: Slot = 0

    def recover(self, records: Sequence[Record], snapshot_slot: Slot = 0) -> None:
        """Decided values from durable records, above the snapshot (which is delivered)."""
        self.decided_upto = self.delivered_upto = self.commit_hint = snapshot_slot
        for record in records:
            if isinstance(record, DecidedValue) and record.slot > snapshot_slot:
                self.decided[record.slot] = record.batch
        self._advance()

    def compact(self, slot: Slot) -> None:
        """Forget decided values at or below `slot`: a snapshot covers them."""
        self.decided = {s: b for s, b in self.decided.items() if s > slot}

    def install(self, slot: Slot) -> None:
        """A snapshot at `slot` replaced the state machine: it is decided and delivered."""
        self.compact(slot)
        self.decided_upto = max(self.decided_upto, slot)
        self.delivered_upto = max(self.delivered_upto, slot)
        self.commit_hint = max(self.commit_hint, slot)
        self._advance()

    def learn(self, slot: Slot, batch: Batch) -> DecidedValue | None:
        """Record that `batch` was chosen in `slot`; returns the record to persist if new."""
        if slot <= self.decided_upto or slot in self.decided:
            return None
        self.decided[slot] = batch
        self.commit_hint = max(self.commit_hint, slot)
        self._advance()
        return DecidedValue(slot=slot, batch=batch)

    def _advance(self) -> None:
        upto = self.decided_upto
        decided = self.decided
        while upto + 1 in decided:
            upto += 1
        self.decided_upto = upto

    def deliver(self) -> list[Effect]:
        """`Deliver` effects for every newly contiguous decided slot."""
        effects: list[Effect] = []
        decided = self.decided
        while self.delivered_upto < self.decided_upto:
            self.delivered_upto += 1
            slot = self.delivered_upto
            effects.append(Deliver(slot=slot, batch=decided[slot]))
        return effects

    def missing(self) -> bool:
        """True if a leader decided slots that we have not learned."""
        return self.commit_hint > self.decided_upto

    def entries(
        self, from_slot: Slot, upto: Slot, limit: int, bytes_max: int
    ) -> tuple[DecidedEntry, ...]:
        """Decided values in `from_slot..upto`, in slot order: at most `limit` of them, and no
        more once they hold `bytes_max` bytes of ops (but always the first)."""
        out: list[DecidedEntry] = []
        decided = self.decided
        size = 0
        for slot in range(max(from_slot, 1), upto + 1):
            batch = decided.get(slot)
            if batch is None:
                continue
            size += sum(len(c.op) for c in batch)
            if out and size > bytes_max:
                break
            out.append(DecidedEntry(slot=slot, batch=batch))
            if len(out) >= limit:
                break
        return tuple(out)
