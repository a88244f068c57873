"""The state-machine contract every replicated machine follows.

A machine is deterministic: the same commands in the same order give the same state and the same
results on every replica. It never reads a clock or a random source; anything time-dependent is
stamped on the command by its proposer.
"""

from __future__ import annotations

from typing import Protocol


class StateMachine(Protocol):
    def apply(self, op: bytes) -> bytes:
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
