"""Durable records of WPaxos: the promise, acceptances and decided values of each object.

Each object's log is a Paxos log of its own, so every record names its object. `Promised` and
`AcceptedValue` must be durable before the promise or the acceptance they justify leaves the
node (the `Persist` barrier); `DecidedValue` only speeds up recovery.

The log is not compacted yet: a snapshot covers no WPaxos record (see `covers`).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from pyxos.core.commands import Batch
from pyxos.core.ids import Ballot, Slot
from pyxos.core.protocol import AcceptFact, DecideFact, Fact, PromiseFact
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

NEVER_COVERED: Slot = 1 << 62
"""The slot `extent` gives: above any snapshot's, so the log keeps every segment."""


def covers(snapshot: Snapshot, record: msgspec.Struct) -> bool:
    """No snapshot covers a WPaxos record: the per-object logs are kept whole."""
    del snapshot, record
    return False


def extent(records: Iterable[msgspec.Struct]) -> tuple[Slot, Ballot | None]:
    """Never covered (see `covers`)."""
    del records
    return NEVER_COVERED, None


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
