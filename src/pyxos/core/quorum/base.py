"""The quorum-system protocol shared by every Paxos variant."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from pyxos.core.ids import NodeId


class QuorumSystem(Protocol):
    """Decides which acknowledgement sets form quorums. Implementations are immutable values."""

    @property
    def members(self) -> tuple[NodeId, ...]:
        """Every node that votes, in ascending order."""
        ...

    def is_q1(self, acks: Collection[NodeId]) -> bool:
        """True if `acks` (distinct member ids) is a phase-1 quorum."""
        ...

    def is_q2(self, acks: Collection[NodeId]) -> bool:
        """True if `acks` (distinct member ids) is a phase-2 quorum."""
        ...
