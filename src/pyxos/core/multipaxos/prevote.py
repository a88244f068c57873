"""Pre-vote: a replica moves to a new view only if a phase-1 quorum would follow it.

Theory of operation (the pre-vote of Raft, section 9.6 of Ongaro's thesis, applied to views).
A `ViewChange` moves every replica that hears it, and deposes the leader of the old view. A
replica that was cut off times out again and again; if each timeout raised its view, its first
message after the partition heals would depose a healthy leader for nothing. So a replica whose
election timeout expires first asks its peers, `PreViewChange(view + 1)`, and changes nothing.
A peer supports it (`PreViewAck(granted=True)`) when the view is above its own and it has not
heard an established leader for `election_timeout_ticks_min` ticks, so it would time out too; a
leader that completed phase 1 never supports it. Asking changes nothing at the peer: neither its
view nor its timers. With the support of a phase-1 quorum (itself included) the replica moves to
the view and announces it with `ViewChange`, as before; if the next timeout comes first, it asks
again. A cut-off replica never gathers a quorum, so it keeps its view, and once healed it simply
hears the leader again.

Nothing here touches safety: views only choose who may propose, and a ballot still needs its
own phase 1.
"""

from __future__ import annotations

from pyxos.core.ids import NodeId
from pyxos.core.quorum import QuorumSystem


class PreVote:
    """One attempt to gather support for `view`: who supports it so far."""

    __slots__ = ("supporters", "view")

    def __init__(self, view: int, node_id: NodeId) -> None:
        self.view = view
        self.supporters: set[NodeId] = {node_id}  # we time out, so we support it ourselves

    def support(self, sender: NodeId, quorums: QuorumSystem) -> bool:
        """Count `sender`'s support; True once the supporters form a phase-1 quorum."""
        self.supporters.add(sender)
        return quorums.is_q1(self.supporters)
