"""Durable records: what a replica writes to its log store and reads back on restart.

A replica's durable state is its promised ballot, what it accepted per slot, and the values it
learned were chosen. `Promised` and `AcceptedValue` must be durable before the promise or the
acceptance they justify leaves the node (the `Persist` barrier); `DecidedValue` only speeds up
recovery (a replica could learn it again from its peers).
"""

from __future__ import annotations

from typing import assert_never

import msgspec

from pyxos.core.commands import Batch
from pyxos.core.ids import Ballot, Slot


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


class Snapshot(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """The state after applying every slot up to `slot`, and the promise when it was taken.

    `state` is opaque to the core (the node's machine and session table). Once a snapshot is
    durable, the log may drop every record it covers: values of slots up to `slot`, and promises
    up to `promised` (which is why the promise travels with the snapshot).
    """

    slot: Slot
    promised: Ballot
    state: bytes


def covers(snapshot: Snapshot, record: Record) -> bool:
    """True if `record` carries nothing `snapshot` does not: the log may drop it."""
    match record:
        case Promised(ballot=ballot):
            return ballot <= snapshot.promised
        case AcceptedValue(slot=slot) | DecidedValue(slot=slot):
            return slot <= snapshot.slot
        case unreachable:
            assert_never(unreachable)
