"""Peer messages of the Multi-Paxos protocol.

Every message is a frozen msgspec struct with a tag, so the wire layer encodes the `Message`
union directly. Ballots travel as `(round, node)` pairs. Names follow the protocol: phase 1 is
`Prepare`/`Promise`, phase 2 is `Accept`/`Accepted`, learning is `Commit` (and `Catchup*` for a
replica that is behind), `Reject` tells a proposer that an acceptor promised a higher ballot.
A view change is asked for first (`PreViewChange`/`PreViewAck`, a pre-vote) and announced with
`ViewChange` only once a phase-1 quorum would support it.
"""

from __future__ import annotations

import msgspec

from pyxos.core.commands import Batch, Command
from pyxos.core.ids import Ballot, Slot


class _Msg(msgspec.Struct, frozen=True, kw_only=True, array_like=True, tag=True, gc=False):
    pass


class AcceptedEntry(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """What an acceptor accepted in one slot (reported in a `Promise`)."""

    slot: Slot
    ballot: Ballot
    batch: Batch


class DecidedEntry(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """A chosen value (sent during catch-up)."""

    slot: Slot
    batch: Batch


class ViewChange(_Msg, frozen=True, tag="vc"):
    """The sender has moved to `view` because it stopped hearing from a leader."""

    view: int


class PreViewChange(_Msg, frozen=True, tag="pvc"):
    """Would you follow the sender into `view`? Asked before a `ViewChange`; the receiver
    changes nothing (neither its view nor its timers) because of it."""

    view: int


class PreViewAck(_Msg, frozen=True, tag="pvack"):
    """The answer to `PreViewChange(view)`: `granted` if `view` is above the receiver's view and
    it has not heard an established leader for an election timeout (it would time out too)."""

    view: int
    granted: bool


class Prepare(_Msg, frozen=True, tag="p1a"):
    """Phase 1a for every slot at or above `from_slot` (the leader's first undecided slot)."""

    ballot: Ballot
    from_slot: Slot


class Promise(_Msg, frozen=True, tag="p1b"):
    """Phase 1b: the acceptor promised `ballot` and reports what it accepted from `from_slot` on.

    `decided_upto` is the acceptor's decided prefix, so a leader that is behind learns it must
    catch up before it can serve. `compacted_upto` is the slot of the acceptor's snapshot: it no
    longer knows what it accepted at or below it, and every such slot is decided. `decided`
    carries chosen values the acceptor knows but never accepted itself (learned by catch-up, or
    after a rebuild): the leader takes them as they are.
    """

    ballot: Ballot
    from_slot: Slot
    accepted: tuple[AcceptedEntry, ...]
    decided_upto: Slot
    compacted_upto: Slot = 0
    decided: tuple[DecidedEntry, ...] = ()


class Accept(_Msg, frozen=True, tag="p2a"):
    """Phase 2a: accept `batch` in `slot` at `ballot`. Carries the leader's commit point."""

    ballot: Ballot
    slot: Slot
    batch: Batch
    commit_upto: Slot


class Accepted(_Msg, frozen=True, tag="p2b"):
    """Phase 2b: the acceptor durably accepted the `Accept` for `slot` at `ballot`."""

    ballot: Ballot
    slot: Slot


class Reject(_Msg, frozen=True, tag="nack"):
    """The acceptor has promised `promised`, higher than the ballot it was asked about."""

    ballot: Ballot
    promised: Ballot


class Commit(_Msg, frozen=True, tag="commit"):
    """Every slot up to `upto` is decided; a slot accepted at `ballot` holds the chosen value."""

    ballot: Ballot
    upto: Slot


class Heartbeat(_Msg, frozen=True, tag="hb"):
    """The leader is alive. `read_round` numbers read-index confirmations."""

    ballot: Ballot
    commit_upto: Slot
    read_round: int


class HeartbeatAck(_Msg, frozen=True, tag="hback"):
    """The acceptor still follows `ballot` (it has promised nothing higher)."""

    ballot: Ballot
    read_round: int
    decided_upto: Slot


class CatchupRequest(_Msg, frozen=True, tag="cureq"):
    """Send me the chosen values of slots `from_slot..upto` (inclusive)."""

    from_slot: Slot
    upto: Slot


class CatchupReply(_Msg, frozen=True, tag="curep"):
    """Chosen values, in slot order."""

    entries: tuple[DecidedEntry, ...]


class SnapshotTransfer(_Msg, frozen=True, tag="snap"):
    """A snapshot at `slot`, for a replica that asked for slots its peer has compacted away;
    `time_ms` is the log time of its state (0 from a node that predates the field)."""

    slot: Slot
    state: bytes
    time_ms: int = 0


class RejoinQuery(_Msg, frozen=True, tag="rjq"):
    """A replica rebuilt after losing its disk asks every peer for its promise."""


class RejoinInfo(_Msg, frozen=True, tag="rji"):
    """A peer's answer: the highest ballot it promised, and the highest slot it accepted,
    learned or (as leader) proposed."""

    promised: Ballot
    slot_upto: Slot


class Forward(_Msg, frozen=True, tag="fwd"):
    """Client commands forwarded by a replica to the leader it believes in."""

    commands: tuple[Command, ...]


class ReadIndexRequest(_Msg, frozen=True, tag="rireq"):
    """Ask the leader for a read index for the given request ids."""

    request_ids: tuple[int, ...]


class ReadIndexReply(_Msg, frozen=True, tag="rirep"):
    """Reads with these ids may be served once the asker has applied through `index`."""

    request_ids: tuple[int, ...]
    index: Slot


Message = (
    ViewChange
    | PreViewChange
    | PreViewAck
    | Prepare
    | Promise
    | Accept
    | Accepted
    | Reject
    | Commit
    | Heartbeat
    | HeartbeatAck
    | CatchupRequest
    | CatchupReply
    | SnapshotTransfer
    | RejoinQuery
    | RejoinInfo
    | Forward
    | ReadIndexRequest
    | ReadIndexReply
)

MESSAGE_CLASSES: tuple[type[Message], ...] = (
    ViewChange,
    PreViewChange,
    PreViewAck,
    Prepare,
    Promise,
    Accept,
    Accepted,
    Reject,
    Commit,
    Heartbeat,
    HeartbeatAck,
    CatchupRequest,
    CatchupReply,
    SnapshotTransfer,
    RejoinQuery,
    RejoinInfo,
    Forward,
    ReadIndexRequest,
    ReadIndexReply,
)

__all__ = [
    "MESSAGE_CLASSES",
    "Accept",
    "Accepted",
    "AcceptedEntry",
    "Batch",
    "CatchupReply",
    "CatchupRequest",
    "Commit",
    "DecidedEntry",
    "Forward",
    "Heartbeat",
    "HeartbeatAck",
    "Message",
    "PreViewAck",
    "PreViewChange",
    "Prepare",
    "Promise",
    "ReadIndexReply",
    "ReadIndexRequest",
    "Reject",
    "RejoinInfo",
    "RejoinQuery",
    "SnapshotTransfer",
    "ViewChange",
]
