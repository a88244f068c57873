"""Views and elections: who leads which view, when to ask for a new one, and whom to follow.

Theory of operation (Paxos for System Builders, with Raft's pre-vote). Replicas move through
views; view v is led by its owner, `view_owner(members, v)`, with ballot (v, owner): views rotate
through the members. A follower that hears nothing from its view's leader for an election timeout
asks its peers whether they would follow it into the next view (see `prevote.py`); once a
phase-1 quorum would, it moves there and tells everyone. The timeout doubles with every timeout
that brings no progress (capped, plus a random jitter) and resets once a leader is heard, so a
cluster under churn settles on one leader instead of duelling.

`Elections` keeps the view and these timers; it takes the replica's tick count and says what is
due, and the replica acts on it (it owns the acceptor, the leader and the messages).
"""

from __future__ import annotations

from random import Random

from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot, NodeId
from pyxos.core.multipaxos.prevote import PreVote


def view_owner(members: tuple[NodeId, ...], view: int) -> NodeId:
    """The node that leads `view`: views rotate through the (sorted) members."""
    return members[view % len(members)]


def view_ballot(members: tuple[NodeId, ...], view: int) -> Ballot:
    return Ballot(view, view_owner(members, view))


class Elections:
    """The view of one replica and the timers that move it."""

    __slots__ = (
        "_config",
        "_rng",
        "churn",
        "heard_tick",
        "leader_tick",
        "owner",
        "pre_vote",
        "timeout_ticks",
        "view",
        "view_change_tick",
    )

    def __init__(self, config: ReplicaConfig, rng: Random, view: int) -> None:
        self._config = config
        self._rng = rng
        self.view = view
        self.owner = view_owner(config.members, view)  # the leader we follow (or ourselves)
        # Last tick we heard from our view's leader (or entered the view).
        self.heard_tick = 0
        # Last tick we heard an established leader we follow (a start counts, so a restarted
        # replica does not help a stale peer depose a leader it has not heard from yet).
        self.leader_tick = 0
        self.pre_vote: PreVote | None = None  # the view we ask support for, if any
        self.churn = 0  # election timeouts since the last established leader
        self.timeout_ticks = self._draw_timeout()
        self.view_change_tick = 0

    def _draw_timeout(self) -> int:
        c = self._config
        base = min(
            c.election_timeout_ticks_max, c.election_timeout_ticks_min << min(self.churn, 16)
        )
        return base + self._rng.randint(0, c.election_timeout_ticks_jitter)

    # ---- what we heard ----------------------------------------------------------------------
    def heard_leader(self, tick: int) -> None:
        """We heard an established leader we follow: no election is needed."""
        self.heard_tick = self.leader_tick = tick
        self.pre_vote = None

    def progress(self, tick: int) -> None:
        """We heard from an established leader of our view: the churn is over."""
        self.heard_leader(tick)
        if self.churn:
            self.churn = 0
            self.timeout_ticks = self._draw_timeout()

    def heard_view(self, tick: int) -> None:
        """Someone is working on our view (its owner's phase 1): wait for it."""
        self.heard_tick = tick

    def enter(self, view: int, tick: int) -> bool:
        """Move to `view` if it is above ours; True if we moved."""
        if view <= self.view:
            return False
        self.view = view
        self.owner = view_owner(self._config.members, view)
        self.pre_vote = None
        self.heard_tick = tick
        self.view_change_tick = tick
        return True

    # ---- what is due ------------------------------------------------------------------------
    def expired(self, tick: int) -> bool:
        """True if the election timeout has run out."""
        return tick - self.heard_tick >= self.timeout_ticks

    def remind_due(self, tick: int) -> bool:
        """While no leader has shown up in our view after churn: time to remind its owner,
        whose `ViewChange` may have been lost."""
        if tick - self.view_change_tick < self._config.retransmit_ticks or not self.churn:
            return False
        self.view_change_tick = tick
        return True

    def time_out(self, tick: int) -> int:
        """The timeout ran out: count the churn, draw the next timeout, and return the view to
        try next. The next attempt waits for the next timeout."""
        self.churn += 1
        self.timeout_ticks = self._draw_timeout()
        self.heard_tick = tick
        return self.view + 1

    def ask(self, view: int, node_id: NodeId) -> PreVote:
        """Start asking for support for `view` (we support it ourselves)."""
        self.pre_vote = PreVote(view, node_id)
        return self.pre_vote

    def supports(self, view: int, tick: int, leading: bool) -> bool:
        """Would we follow a peer into `view`? Only if it is ahead of ours and we would time out
        too: no established leader heard for the shortest election timeout, and not leading."""
        if view <= self.view or leading:
            return False
        return tick - self.leader_tick >= self._config.election_timeout_ticks_min

    def supported(self, sender: NodeId, view: int, granted: bool) -> bool:
        """Count a `PreViewAck`; True once a phase-1 quorum supports the view we ask for."""
        pre_vote = self.pre_vote
        if pre_vote is None or not granted or view != pre_vote.view:
            return False  # refused, stale or duplicated
        return pre_vote.support(sender, self._config.quorums)
