"""Durable records of WPaxos: the promise, acceptances and decided values of each object.

Each object's log is a Paxos log of its own, so every record names its object. `Promised` and
`AcceptedValue` must be durable before the promise or the acceptance they justify leaves the
node (the `Persist` barrier); `DecidedValue` only speeds up recovery.

A snapshot covers an object's records by its cut of that object (`ObjectCut`): values below
the slot from which the log keeps them, promises up to its promise. An object the snapshot has
no cut for keeps every record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import assert_never

import msgspec

from pyxos.core.commands import Batch
from pyxos.core.ids import Ballot, Slot
from pyxos.core.protocol import AcceptFact, DecideFact, Extent, Fact, PromiseFact
from pyxos.core.snapshot import Snapshot


class _Rec(msgspec.Struct, frozen=True, kw_only=True, array_like=True, tag=True, gc=False):
    pass


class Promised(_Rec, frozen=True, tag="wp.promised"):
    obj: bytes
    ballot: Ballot


class AcceptedValue(_Rec, frozen=True, tag="wp.accepted"):
    obj: bytes
    slot: Slot
    ballot: Ballot
    batch: Batch


class DecidedValue(_Rec, frozen=True, tag="wp.decided"):
    obj: bytes
    slot: Slot
    batch: Batch


Record = Promised | AcceptedValue | DecidedValue
RECORD_CLASSES: tuple[type[Record], ...] = (Promised, AcceptedValue, DecidedValue)


def covers(snapshot: Snapshot, record: msgspec.Struct) -> bool:
    """True if `record` carries nothing `snapshot` does not: the log may drop it."""
    assert isinstance(record, RECORD_CLASSES), record
    cut = snapshot.cut(record.obj)
    if cut is None:
        return False
    match record:
        case Promised(ballot=ballot):
            return ballot <= cut.promised
        case AcceptedValue(slot=slot) | DecidedValue(slot=slot):
            return slot < cut.kept_from
        case unreachable:
            assert_never(unreachable)


@dataclass(frozen=True, slots=True)
class ObjectsExtent:
    """Per object: the highest slot some records are about (-1 for none) and the highest ballot
    they promise (None for none)."""

    objects: Mapping[bytes, tuple[Slot, Ballot | None]]

    def merge(self, other: Extent) -> ObjectsExtent:
        assert isinstance(other, ObjectsExtent), other
        merged = dict(self.objects)
        for obj, (slot, promised) in other.objects.items():
            merged[obj] = _widen(merged.get(obj), slot, promised)
        return ObjectsExtent(merged)

    def covered_by(self, snapshot: Snapshot) -> bool:
        for obj, (slot, promised) in self.objects.items():
            cut = snapshot.cut(obj)
            if cut is None or slot >= cut.kept_from:
                return False
            if promised is not None and promised > cut.promised:
                return False
        return True


def _widen(
    known: tuple[Slot, Ballot | None] | None, slot: Slot, promised: Ballot | None
) -> tuple[Slot, Ballot | None]:
    if known is None:
        return slot, promised
    top = known[1]
    if promised is not None and (top is None or promised > top):
        top = promised
    return max(known[0], slot), top


def extent(records: Iterable[msgspec.Struct]) -> ObjectsExtent:
    """What `records` are about, per object (see `ObjectsExtent`)."""
    objects: dict[bytes, tuple[Slot, Ballot | None]] = {}
    for record in records:
        if type(record) is Promised:
            objects[record.obj] = _widen(objects.get(record.obj), -1, record.ballot)
        else:
            obj: bytes = record.obj  # type: ignore[attr-defined]
            objects[obj] = _widen(objects.get(obj), record.slot, None)  # type: ignore[attr-defined]
    return ObjectsExtent(objects)


def fact(record: msgspec.Struct) -> Fact | None:
    """What `record` means to the checkers (None for a record that is not ours)."""
    if type(record) is AcceptedValue:
        return AcceptFact(
            instance=(record.obj, record.slot), ballot=record.ballot, batch=record.batch
        )
    if type(record) is DecidedValue:
        return DecideFact(instance=(record.obj, record.slot), batch=record.batch)
    if type(record) is Promised:
        return PromiseFact(ballot=record.ballot, object=record.obj)
    return None
