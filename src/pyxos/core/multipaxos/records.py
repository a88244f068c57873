"""Durable records of Multi-Paxos: what a replica writes to its log store and reads back.

A replica's durable state is its promised ballot, what it accepted per slot, and the values it
learned were chosen. `Promised` and `AcceptedValue` must be durable before the promise or the
acceptance they justify leaves the node (the `Persist` barrier); `DecidedValue` only speeds up
recovery (a replica could learn it again from its peers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import assert_never

import msgspec

from pyxos.core.commands import Batch
from pyxos.core.ids import Ballot, Slot
from pyxos.core.protocol import AcceptFact, DecideFact, Extent, Fact, PromiseFact
from pyxos.core.snapshot import Snapshot


class _Rec(msgspec.Struct, frozen=True, kw_only=True, array_like=True, tag=True, gc=False):
    pass


class Promised(_Rec, frozen=True, tag="promised"):
    ballot: Ballot


class AcceptedValue(_Rec, frozen=True, tag="accepted"):
    slot: Slot
    ballot: Ballot
    batch: Batch


class DecidedValue(_Rec, frozen=True, tag="decided"):
    slot: Slot
    batch: Batch


Record = Promised | AcceptedValue | DecidedValue
RECORD_CLASSES: tuple[type[Record], ...] = (Promised, AcceptedValue, DecidedValue)


def covers(snapshot: Snapshot, record: msgspec.Struct) -> bool:
    """True if `record` carries nothing `snapshot` does not: the log may drop it."""
    assert isinstance(record, RECORD_CLASSES), record
    match record:
        case Promised(ballot=ballot):
            return ballot <= snapshot.promised
        case AcceptedValue(slot=slot) | DecidedValue(slot=slot):
            return slot <= snapshot.slot
        case unreachable:
            assert_never(unreachable)


@dataclass(frozen=True, slots=True)
class LogExtent:
    """The highest slot some records are about (-1 for none) and the highest ballot they
    promise (None for none): an acceptance's ballot is covered by its slot alone (`covers`)."""

    slot_max: Slot = -1
    promised_max: Ballot | None = None

    def merge(self, other: Extent) -> LogExtent:
        assert isinstance(other, LogExtent), other
        promised = self.promised_max
        if other.promised_max is not None and (promised is None or other.promised_max > promised):
            promised = other.promised_max
        return LogExtent(max(self.slot_max, other.slot_max), promised)

    def covered_by(self, snapshot: Snapshot) -> bool:
        return self.slot_max <= snapshot.slot and (
            self.promised_max is None or self.promised_max <= snapshot.promised
        )


def extent(records: Iterable[msgspec.Struct]) -> LogExtent:
    """What `records` are about (see `LogExtent`)."""
    slot_max: Slot = -1
    promised: Ballot | None = None
    for record in records:
        if type(record) is Promised:
            if promised is None or record.ballot > promised:
                promised = record.ballot
        elif record.slot > slot_max:  # type: ignore[attr-defined]
            slot_max = record.slot  # type: ignore[attr-defined]
    return LogExtent(slot_max, promised)


def fact(record: msgspec.Struct) -> Fact | None:
    """What `record` means to the checkers (None for a record that is not ours)."""
    if type(record) is AcceptedValue:
        return AcceptFact(instance=(b"", record.slot), ballot=record.ballot, batch=record.batch)
    if type(record) is DecidedValue:
        return DecideFact(instance=(b"", record.slot), batch=record.batch)
    if type(record) is Promised:
        return PromiseFact(ballot=record.ballot)
    return None
