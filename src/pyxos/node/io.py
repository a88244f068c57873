"""Inputs and effects of `Node.step`: the core's, plus the client side.

A node takes the core's `Tick` and `Receive` plus `FromClient`, and returns the core's `Send`,
`Persist`, `SaveSnapshot` and `Note` plus `Reply` (to a client), `Applied` (a slot reached the
state machine) and `Restored` (a snapshot replaced it).
`Persist` stays a barrier: a `Reply` after it waits for the records to be durable.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyxos.core.commands import Batch
from pyxos.core.ids import Slot
from pyxos.core.io import Flush, Note, Persist, Receive, SaveSnapshot, Send, Tick
from pyxos.node.client_messages import ClientInbound, ClientOutbound

# A client's address as the driver knows it (a connection id at runtime, an int in the simulator).
Address = int


@dataclass(frozen=True, slots=True, kw_only=True)
class FromClient:
    """A client request arrived from `sender`."""

    sender: Address
    message: ClientInbound


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """Answer a client."""

    to: Address
    message: ClientOutbound


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """`batch` at position `slot` was applied to the state machine (commands in order); it is
    slot `object_slot` of `object`'s log (`object` is `b""` for a protocol with one log, where
    `object_slot` is `slot`)."""

    slot: Slot
    batch: Batch
    object: bytes = b""
    object_slot: Slot = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Restored:
    """The state machine was replaced by a snapshot at `slot` (at start, or from a peer);
    `Applied` continues from `slot + 1`, and in each object of `objects` (a protocol with a log
    per object: `(object, applied slot)`) from after the object's slot."""

    slot: Slot
    objects: tuple[tuple[bytes, Slot], ...] = ()


NodeInput = Tick | Receive | FromClient | Flush
NodeEffect = Send | Persist | Note | Reply | Applied | SaveSnapshot | Restored

__all__ = [
    "Address",
    "Applied",
    "Flush",
    "FromClient",
    "NodeEffect",
    "NodeInput",
    "Note",
    "Persist",
    "Receive",
    "Reply",
    "Restored",
    "SaveSnapshot",
    "Send",
    "Tick",
]
