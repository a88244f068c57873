"""Identifiers: node ids, slots and ballots.

A ballot is `(round, node)`, ordered lexicographically, so two nodes never share a ballot.
Multi-Paxos gives view `v` to one node, its owner, and leads it with `Ballot(v, owner)` (see
`pyxos.core.multipaxos.views`).
"""

from __future__ import annotations

from typing import NamedTuple

NodeId = int
Slot = int


class Ballot(NamedTuple):
    """A totally ordered proposal number: compare `round` first, then `node`."""

    round: int
    node: NodeId

    def __str__(self) -> str:
        return f"{self.round}.{self.node}"


BALLOT_ZERO = Ballot(0, 0)
