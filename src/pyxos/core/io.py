"""Inputs to `Replica.step` and the effects it returns.

Effects are executed in list order by the driver. `Persist` is a barrier: no effect after it in
the list may happen before its records are durable. A replica therefore never has to remember to
"sync before send": it places the `Send` after the `Persist` that justifies it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyxos.core.commands import Batch, Command
from pyxos.core.ids import NodeId, Slot
from pyxos.core.messages import Message
from pyxos.core.records import Record, Snapshot


# ---- inputs -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """Time passed: `now_ms` is the driver's monotonic clock (virtual in the simulator)."""

    now_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Receive:
    """A peer message arrived from `sender`."""

    sender: NodeId
    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class Propose:
    """Client commands to order. The replica queues, proposes or forwards them to the leader."""

    commands: tuple[Command, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReadIndex:
    """Ask for a linearizable read point for these (node-local) request ids."""

    request_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Flush:
    """The driver has no more input queued right now.

    The replica batches by turn: commands that arrived since the last flush share one slot,
    the commit point is announced once, and forwards and read-index requests travel together.
    A `Tick` flushes too, so a driver that never sends `Flush` loses at most one tick.
    """


Input = Tick | Receive | Propose | RequestReadIndex | Flush


# ---- effects ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    """Send `message` to peer `to` (possibly this replica itself)."""

    to: NodeId
    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class Persist:
    """Append `records` to the log store.

    With `barrier=True` (the default) later effects wait until the records are synced. With
    `barrier=False` the records only need to reach the disk eventually, in order: the next sync
    covers them (used for decided values, which a replica could relearn from its peers).
    """

    records: tuple[Record, ...]
    barrier: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliver:
    """`batch` was chosen in `slot`. Delivered exactly once per slot, in slot order."""

    slot: Slot
    batch: Batch


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadIndexReady:
    """The reads `request_ids` may be served once slot `index` has been applied."""

    request_ids: tuple[int, ...]
    index: Slot


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreSnapshot:
    """Replace the state machine with `snapshot` (received from a peer), then persist it.

    Deliveries continue from `snapshot.slot + 1`.
    """

    snapshot: Snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """Something worth observing happened (leader elected, value re-proposed, catch-up...).

    Drivers log notes; the simulator counts them to prove its runs are not vacuous.
    """

    kind: str
    detail: str = ""


Effect = Send | Persist | Deliver | ReadIndexReady | RestoreSnapshot | Note
