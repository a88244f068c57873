"""Peer messages of WPaxos: Paxos per object, every message naming the object it is about.

Phase 1 (`Prepare`/`Promise`) is how a node takes an object ("steals" it) from its owner;
phase 2 (`Accept`/`Accepted`) commits commands in the object's own log; `Commit` announces the
object's commit point. A node that does not own an object sends its commands to the owner
(`Forward`); an owner whose migration policy says the object is used more in another zone
invites a node there to steal it (`Handover`).
"""

from __future__ import annotations

import msgspec

from pyxos.core.commands import Batch, Command
from pyxos.core.ids import Ballot, Slot


class _Msg(msgspec.Struct, frozen=True, kw_only=True, array_like=True, tag=True, gc=False):
    pass


class AcceptedEntry(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """What an acceptor accepted in one slot of an object's log (reported in a `Promise`)."""

    slot: Slot
    ballot: Ballot
    batch: Batch


class DecidedEntry(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """A chosen value of an object's log."""

    slot: Slot
    batch: Batch


class Prepare(_Msg, frozen=True, tag="wp.p1a"):
    """Phase 1a for `obj`: every slot at or above `from_slot`."""

    obj: bytes
    ballot: Ballot
    from_slot: Slot


class Promise(_Msg, frozen=True, tag="wp.p1b"):
    """Phase 1b: the acceptor promised `ballot` for `obj` and reports what it accepted from
    `from_slot` on, and chosen values it knows but never accepted (`decided`)."""

    obj: bytes
    ballot: Ballot
    from_slot: Slot
    accepted: tuple[AcceptedEntry, ...]
    decided_upto: Slot
    decided: tuple[DecidedEntry, ...] = ()


class Accept(_Msg, frozen=True, tag="wp.p2a"):
    """Phase 2a: accept `batch` in slot `slot` of `obj`'s log at `ballot`."""

    obj: bytes
    ballot: Ballot
    slot: Slot
    batch: Batch
    commit_upto: Slot


class Accepted(_Msg, frozen=True, tag="wp.p2b"):
    """Phase 2b: the acceptor durably accepted slot `slot` of `obj` at `ballot`; it has learned
    every slot up to `decided_upto` (so the owner knows how far every member has come)."""

    obj: bytes
    ballot: Ballot
    slot: Slot
    decided_upto: Slot = 0


class Reject(_Msg, frozen=True, tag="wp.nack"):
    """The acceptor promised `promised` for `obj`, higher than the ballot it was asked."""

    obj: bytes
    ballot: Ballot
    promised: Ballot


class Commit(_Msg, frozen=True, tag="wp.commit"):
    """Every slot of `obj` up to `upto` is decided; one accepted at `ballot` holds the chosen
    value. Every member has learned every slot up to `stable_upto`: nobody will ask for those
    again, so a snapshot may let the log drop them."""

    obj: bytes
    ballot: Ballot
    upto: Slot
    stable_upto: Slot = 0
    again: bool = False
    """Sent again to members that have not said they learned through `upto`: answer with
    `Learned`."""


class Learned(_Msg, frozen=True, tag="wp.learned"):
    """The sender has learned every slot of `obj` up to `decided_upto` (the answer to a commit
    sent again, so that an owner knows when every member has caught up on an idle object)."""

    obj: bytes
    ballot: Ballot
    decided_upto: Slot


class Forward(_Msg, frozen=True, tag="wp.fwd"):
    """Commands for `obj`, sent to the node the sender believes owns it. `hops` counts how
    often it was passed on (a stale belief is corrected once, never chased for ever)."""

    obj: bytes
    commands: tuple[Command, ...]
    hops: int = 0


class Handover(_Msg, frozen=True, tag="wp.hand"):
    """The owner of `obj` at `ballot` invites the receiver to steal it: the object is used
    more in the receiver's zone (the migration policy)."""

    obj: bytes
    ballot: Ballot


class CatchupRequest(_Msg, frozen=True, tag="wp.cureq"):
    """Send me the chosen values of slots `from_slot..upto` of `obj`."""

    obj: bytes
    from_slot: Slot
    upto: Slot


class CatchupReply(_Msg, frozen=True, tag="wp.curep"):
    """Chosen values of `obj`'s log, in slot order."""

    obj: bytes
    entries: tuple[DecidedEntry, ...]


Message = (
    Prepare
    | Promise
    | Accept
    | Accepted
    | Reject
    | Commit
    | Learned
    | Forward
    | Handover
    | CatchupRequest
    | CatchupReply
)
MESSAGE_CLASSES: tuple[type[Message], ...] = (
    Prepare,
    Promise,
    Accept,
    Accepted,
    Reject,
    Commit,
    Learned,
    Forward,
    Handover,
    CatchupRequest,
    CatchupReply,
)
