"""Catch-up: how a replica that is behind gets the decided values it lacks, and serves others.

Theory of operation. A replica learns that slots are decided before it knows their values (a
leader's commit point runs ahead of what reached it: a gap, a restart, a partition). At the end
of a step in which it still misses some, at most once per `retransmit_ticks`, it asks one peer
for the next `catchup_slots_max` of them: the owner of its view first, since the leader has them
all, and every other attempt a random peer, since the leader may be the one cut off and any
replica that decided the slots can answer. The peer answers with the decided values it has
(bounded in count and bytes), or, when the replica asks below the peer's compaction point, with
its whole snapshot, which the replica installs in place of the log it covers.

`CatchUp` only decides whom to ask and what to answer; the replica learns what comes back (it
owns the learner and the acceptor).
"""

from __future__ import annotations

from random import Random

from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import NodeId, Slot
from pyxos.core.io import Effect, Send
from pyxos.core.multipaxos.learner import Learner
from pyxos.core.multipaxos.messages import CatchupReply, CatchupRequest, SnapshotTransfer
from pyxos.core.snapshot import Snapshot


class CatchUp:
    """When this replica last asked, and how often, so that requests alternate their source."""

    __slots__ = ("_config", "_rng", "asked_tick", "attempts")

    def __init__(self, config: ReplicaConfig, rng: Random) -> None:
        self._config = config
        self._rng = rng
        self.asked_tick = -config.retransmit_ticks
        self.attempts = 0

    def due(self, tick: int, learner: Learner) -> bool:
        """True if slots are missing and the last request is old enough to ask again."""
        return (
            learner.commit_hint > learner.decided_upto
            and tick - self.asked_tick >= self._config.retransmit_ticks
        )

    def request(self, tick: int, learner: Learner, owner: NodeId) -> Send:
        """Ask for the next missing decided slots (the caller checked `due`)."""
        self.asked_tick = tick
        start = learner.decided_upto + 1
        upto = min(learner.commit_hint, start + self._config.catchup_slots_max - 1)
        return Send(to=self._source(owner), message=CatchupRequest(from_slot=start, upto=upto))

    def _source(self, owner: NodeId) -> NodeId:
        self.attempts += 1
        if owner != self._config.node_id and self.attempts % 2 == 1:
            return owner
        peers = self._config.peers
        return peers[self._rng.randrange(len(peers))]

    def serve(
        self,
        sender: NodeId,
        from_slot: Slot,
        upto: Slot,
        learner: Learner,
        snapshot: Snapshot | None,
    ) -> list[Effect]:
        """Answer a peer's `CatchupRequest`: our snapshot if it asks below it, else what we
        have."""
        if snapshot is not None and from_slot <= snapshot.slot:
            transfer = SnapshotTransfer(
                slot=snapshot.slot, state=snapshot.state, time_ms=snapshot.time_ms
            )
            return [Send(to=sender, message=transfer)]
        config = self._config
        entries = learner.entries(
            from_slot, upto, config.catchup_slots_max, config.catchup_bytes_max
        )
        if not entries:
            return []
        return [Send(to=sender, message=CatchupReply(entries=entries))]
