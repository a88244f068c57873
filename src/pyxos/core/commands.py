"""Client commands and batches, the values that Paxos chooses.

The core never looks inside `Command.op`: it is bytes that the state machine decodes. A slot's
value is a `Batch`, a tuple of commands; the empty batch is the NOOP that fills holes.

Time. A leader stamps every command of a batch with the same `time_ms`, read from its leader
clock (`core/clock.py`) when it opens the slot. State machines that need time (lease expiry) take
it from the stamps of the commands they apply, never from a clock of their own, so every replica
expires the same lease at the same slot.
"""

from __future__ import annotations

import msgspec


class Command(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """One client command. `(client_id, seq)` identifies it for exactly-once execution.

    `gc=False` (here and on the frozen records and messages): an immutable struct of ints,
    bytes and tuples cannot be part of a reference cycle, and a leader holds thousands of them,
    so the cycle collector need not scan them (its full collections paused the leader for tens
    of milliseconds)."""

    client_id: int
    seq: int
    op: bytes
    time_ms: int = 0
    """The leader's clock when it proposed the command (0 until a leader stamps it)."""


Batch = tuple[Command, ...]
NOOP: Batch = ()


def batch_time(batch: Batch) -> int:
    """The leader time stamped on `batch` (0 for NOOP). A leader stamps a whole batch at once,
    so the last command carries the batch's time."""
    return batch[-1].time_ms if batch else 0
