"""Quorum systems as values: the acceptor and learner ask them, and never count by hand.

A `QuorumSystem` answers two questions over a set of acknowledging node ids: is it a phase-1
quorum (Q1, used by `Prepare`/`Promise`) and is it a phase-2 quorum (Q2, used by
`Accept`/`Accepted` and read-index confirmation)? Paxos is safe for any system where every Q1
intersects every Q2.
"""

from pyxos.core.quorum.base import QuorumSystem
from pyxos.core.quorum.majority import Majority

__all__ = ["Majority", "QuorumSystem"]
