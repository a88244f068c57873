"""The snapshot every protocol takes: the node's state after a position, and what it covers.

`state` is opaque to the core (the node's machine and session table). `promised` and `time_ms`
are the protocol's: the promise it had made when the snapshot was taken (once the snapshot is
durable the log may drop the promises it covers) and the log time of the state (so that a
replica that installs a peer's snapshot continues log time from it, see `clock.py`).
"""

from __future__ import annotations

from bisect import bisect_left

import msgspec

from pyxos.core.ids import Ballot, Slot


class ObjectCut(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """Where a snapshot stands in one object's log, for a protocol with a log per object.

    The state includes every slot of `obj` up to `applied`; the log may drop the object's
    values below `kept_from` (at most `applied + 1`: values every member has learned, which no
    peer will ask for again) and its promises up to `promised`."""

    obj: bytes
    applied: Slot
    kept_from: Slot
    promised: Ballot


class Snapshot(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """The state after applying every position up to `slot`.

    Fields are only ever added at the end, with a default: a snapshot file written by an older
    version still decodes (`time_ms` was added after the first release)."""

    slot: Slot
    promised: Ballot
    state: bytes
    time_ms: int = 0
    objects: tuple[ObjectCut, ...] = ()
    """With a log per object: each object's cut, sorted by object (`slot` then counts the
    positions the node had applied, every object together)."""

    def cut(self, obj: bytes) -> ObjectCut | None:
        """`obj`'s cut, if the snapshot has one."""
        objects = self.objects
        index = bisect_left(objects, obj, key=_object)
        if index < len(objects) and objects[index].obj == obj:
            return objects[index]
        return None


def _object(cut: ObjectCut) -> bytes:
    return cut.obj
