"""Quorum systems as values: the acceptor and learner ask them, and never count by hand.

A `QuorumSystem` answers two questions over a set of acknowledging node ids: is it a phase-1
quorum (Q1, used by `Prepare`/`Promise`) and is it a phase-2 quorum (Q2, used by
`Accept`/`Accepted` and read-index confirmation)? Paxos is safe for any system where every Q1
intersects every Q2; `check_intersection` proves it by brute force for a small membership.

- `Majority`: Q1 = Q2 = any majority.
- `Flexible`: counting quorums with `q1_size + q2_size > n` (Flexible Paxos).
- `Grid`: WPaxos zone grids, tolerating `fz` zone failures and `fn` node failures per zone.
"""

from pyxos.core.quorum.base import QuorumSystem
from pyxos.core.quorum.flexible import Flexible
from pyxos.core.quorum.grid import Grid
from pyxos.core.quorum.intersection import check_intersection
from pyxos.core.quorum.majority import Majority
from pyxos.core.quorum.spec import MAJORITY, QuorumSpec, parse_quorums

__all__ = [
    "MAJORITY",
    "Flexible",
    "Grid",
    "Majority",
    "QuorumSpec",
    "QuorumSystem",
    "check_intersection",
    "parse_quorums",
]
