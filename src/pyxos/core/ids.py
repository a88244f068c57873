"""Identifiers: node ids, slots and ballots.

A ballot is `(round, node)`, ordered lexicographically, so two nodes never share a ballot.
A view `v` is owned by one node (see `pyxos.core.config.ReplicaConfig.owner`) and its ballot is
`Ballot(v, owner(v))`.
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
