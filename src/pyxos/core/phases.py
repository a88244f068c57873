"""What every Paxos protocol on the host does alike in its two phases: the value phase 1 must
re-propose, the leader's stamp on a new batch, and the bookkeeping of one phase-2 proposal.

Each protocol package keeps its own messages; these rules see only what all of them carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pyxos.core.commands import NOOP, Batch, Command
from pyxos.core.ids import Ballot, NodeId


class Acceptance(Protocol):
    """What a phase-1 answer reports of one slot: a value accepted at a ballot."""

    @property
    def ballot(self) -> Ballot: ...

    @property
    def batch(self) -> Batch: ...


def choose_value(entries: Sequence[Acceptance]) -> Batch:
    """Phase 1's rule: the value accepted at the highest ballot, or NOOP if none was."""
    if not entries:
        return NOOP
    return max(entries, key=lambda e: e.ballot).batch


def stamped(commands: tuple[Command, ...], time_ms: int) -> Batch:
    """`commands` with the leader's time on every one (the batch's time, see `batch_time`)."""
    return tuple(
        c
        if c.time_ms == time_ms
        else Command(client_id=c.client_id, seq=c.seq, op=c.op, time_ms=time_ms)
        for c in commands
    )


class Proposal:
    """A value proposed in one slot: who accepted it, and when it was last sent."""

    __slots__ = ("acks", "batch", "sent_tick")

    def __init__(self, batch: Batch, tick: int) -> None:
        self.batch = batch
        self.acks: set[NodeId] = set()
        self.sent_tick = tick
