"""Simple majorities: any more-than-half of the members, for both phases."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from pyxos.core.ids import NodeId


@dataclass(frozen=True, slots=True)
class Majority:
    """Q1 = Q2 = any set of more than half of `members`."""

    members: tuple[NodeId, ...]
    size: int = field(init=False)
    _voters: frozenset[NodeId] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a quorum system needs at least one member")
        if len(set(self.members)) != len(self.members):
            raise ValueError(f"duplicate member ids in {self.members}")
        object.__setattr__(self, "members", tuple(sorted(self.members)))
        object.__setattr__(self, "size", len(self.members) // 2 + 1)
        object.__setattr__(self, "_voters", frozenset(self.members))

    def is_q1(self, acks: Collection[NodeId]) -> bool:
        return self._count(acks) >= self.size

    def is_q2(self, acks: Collection[NodeId]) -> bool:
        return self._count(acks) >= self.size

    def _count(self, acks: Collection[NodeId]) -> int:
        # Only members vote: an id from a foreign or misconfigured peer never counts.
        return len(self._voters.intersection(acks))
