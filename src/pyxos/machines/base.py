"""The state-machine contract every replicated machine follows.

A machine is deterministic: the same commands in the same order give the same state and the same
results on every replica. It never reads a clock or a random source; anything time-dependent
comes from the `ApplyContext`: the leader's time stamped on the command (see `core/clock.py`),
the slot that chose it and the client that sent it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ApplyContext:
    """Where a command sits in the log, identical on every replica."""

    slot: int
    """The slot that chose the command: strictly increasing across slots (a fencing token)."""
    time_ms: int
    """Log time: the highest leader stamp applied so far, never decreasing."""
    client_id: int = 0
    seq: int = 0
    advance_timed: bool = True
    """Whether timed machines move to `time_ms` before this command (False for a command of an
    object that time-based machines do not share an order with: see `Keyed`)."""


class StateMachine(Protocol):
    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        """Apply one command and return its encoded result. Never raises on a bad command:
        a malformed command yields an encoded error result (it is in the log forever)."""
        ...

    def query(self, query: bytes) -> bytes:
        """Answer a read-only query from the current state. Does not change the state."""
        ...

    def snapshot(self) -> bytes:
        """Serialise the whole state."""
        ...

    def restore(self, data: bytes) -> None:
        """Replace the state with a snapshot taken by `snapshot`."""
        ...


@runtime_checkable
class TimedMachine(Protocol):
    """A machine whose state changes with time alone (a lease expires) as well as by commands.

    Time only moves when a command is applied, so such a machine says when it next needs time
    to move, and the leader proposes a clock command (`machines/router.py`) once its clock
    passes that point; the clock command reaches every machine's `advance`.
    """

    def next_deadline_ms(self) -> int | None:
        """The log time at which something changes without a command; None if nothing will."""
        ...

    def advance(self, ctx: ApplyContext) -> None:
        """Log time moved to `ctx.time_ms`: do what became due (expire, wake waiters)."""
        ...


@runtime_checkable
class Keyed(Protocol):
    """A machine that names the object each command touches, so that a protocol with a log per
    object (WPaxos) can order each object on its own. Commands of different objects must then
    commute: applying them in either order gives the same state and results."""

    def object_of(self, op: bytes) -> bytes:
        """The object `op` touches (never raises: bad bytes belong to some object)."""
        ...
