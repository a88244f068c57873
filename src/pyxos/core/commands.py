"""Client commands and batches, the values that Paxos chooses.

The core never looks inside `Command.op`: it is bytes that the state machine decodes. A slot's
value is a `Batch`, a tuple of commands; the empty batch is the NOOP that fills holes.
"""

from __future__ import annotations

import msgspec


class Command(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """One client command. `(client_id, seq)` identifies it for exactly-once execution."""

    client_id: int
    seq: int
    op: bytes


Batch = tuple[Command, ...]
NOOP: Batch = ()
