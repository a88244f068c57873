"""Inputs to a protocol's `step` and the effects it returns: the contract every protocol speaks.

Effects are executed in list order by the driver. `Persist` is a barrier: no effect after it in
the list may happen before its records are durable. A protocol therefore never has to remember
to "sync before send": it places the `Send` after the `Persist` that justifies it.

Messages and records are each protocol's own msgspec structs (`PeerMessage`, `DurableRecord`);
the driver moves them without looking inside, and the codecs are built from the protocol's
declared types (see `pyxos.core.protocol.ProtocolSpec`).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from pyxos.core.commands import Batch, Command
from pyxos.core.ids import NodeId, Slot
from pyxos.core.snapshot import Snapshot

PeerMessage = msgspec.Struct
"""A protocol's peer message (a tagged msgspec struct of its own message union)."""
DurableRecord = msgspec.Struct
"""A protocol's durable log record (a tagged msgspec struct of its own record union)."""


# ---- inputs -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """Time passed: `now_ms` is the driver's monotonic clock (virtual in the simulator)."""

    now_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Receive:
    """A peer message arrived from `sender`."""

    sender: NodeId
    message: PeerMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class Propose:
    """Client commands to order. The protocol queues, proposes or forwards them."""

    commands: tuple[Command, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReadIndex:
    """Ask for a linearizable read point for these (node-local) request ids."""

    request_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Flush:
    """The driver has no more input queued right now.

    A protocol batches by turn: commands that arrived since the last flush share one slot,
    the commit point is announced once, and forwards and read-index requests travel together.
    A `Tick` flushes too, so a driver that never sends `Flush` loses at most one tick.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class Compact:
    """The node captured its state after applying every position up to `slot`.

    The protocol wraps it in a `Snapshot` (adding what it must keep, such as its promise),
    forgets the log it covers, serves it to peers that are behind, and returns `SaveSnapshot`.
    `slot` must not be above the last position the protocol delivered.
    """

    slot: Slot
    state: bytes
    time_ms: int
    objects: tuple[tuple[bytes, Slot], ...] = ()
    """With a log per object: each object's last applied slot, sorted by object."""


Input = Tick | Receive | Propose | RequestReadIndex | Flush | Compact


# ---- effects ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    """Send `message` to peer `to` (possibly this replica itself)."""

    to: NodeId
    message: PeerMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class Persist:
    """Append `records` to the log store.

    With `barrier=True` (the default) later effects wait until the records are synced. With
    `barrier=False` the records only need to reach the disk eventually, in order: the next sync
    covers them (used for decided values, which a replica could relearn from its peers).
    """

    records: tuple[DurableRecord, ...]
    barrier: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliver:
    """`batch` is ready to execute at position `slot` of this replica's execution order.

    Positions run 1, 2, 3, ... without gaps, each delivered exactly once (after a snapshot at
    `s`, from `s + 1`). How positions relate across replicas is the protocol's
    `ExecutionOrder`: with `TOTAL` (Multi-Paxos) position `s` holds the same batch on every
    replica. With `PER_OBJECT` the batch is slot `object_slot` of `object`'s own log, which
    every replica delivers in that log's order (positions interleave the logs as they come)."""

    slot: Slot
    batch: Batch
    object: bytes = b""
    object_slot: Slot = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadIndexReady:
    """The reads `request_ids` may be served once position `index` has been applied."""

    request_ids: tuple[int, ...]
    index: Slot


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreSnapshot:
    """Replace the state machine with `snapshot` (received from a peer).

    Deliveries continue from `snapshot.slot + 1`. The protocol also returns `SaveSnapshot`
    for it, after this effect."""

    snapshot: Snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveSnapshot:
    """Make `snapshot` durable (temp file, sync, rename), then drop the log records it covers.

    Not a barrier: nothing waits for it, since the records it covers stay valid until then.
    The driver installs it through its log writer, in order with the records around it."""

    snapshot: Snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """Something worth observing happened (leader elected, value re-proposed, catch-up...).

    Drivers log notes; the simulator counts them to prove its runs are not vacuous.
    """

    kind: str
    detail: str = ""


Effect = Send | Persist | Deliver | ReadIndexReady | RestoreSnapshot | SaveSnapshot | Note
