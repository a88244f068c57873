"""Durable records: what a replica writes to its log store and reads back on restart.

A replica's durable state is its promised ballot, what it accepted per slot, and the values it
learned were chosen. `Promised` and `AcceptedValue` must be durable before the promise or the
acceptance they justify leaves the node (the `Persist` barrier); `DecidedValue` only speeds up
recovery (a replica could learn it again from its peers).
"""

from __future__ import annotations

import msgspec

from pyxos.core.commands import Batch
from pyxos.core.ids import Ballot, Slot


class _Rec(msgspec.Struct, frozen=True, kw_only=True, array_like=True, tag=True):
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
