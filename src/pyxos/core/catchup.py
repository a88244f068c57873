"""Catch-up: how a replica that is behind gets the decided values it lacks, and serves others.

Theory of operation. A replica learns that slots are decided before it knows their values (a
leader's commit point runs ahead of what reached it: a gap, a restart, a partition). At the end
of a step in which it still misses some, at most once per `retransmit_ticks`, it asks one peer
for the next `catchup_slots_max` of them: the owner of its view first, since the leader has them
all, and every other attempt a random peer, since the leader may be the one cut off and any
replica that decided the slots can answer. The peer answers with the decided values it has
(bounded in count and bytes), or, when the replica asks below the peer's compaction point, with
its whole snapshot, which the replica installs in place of the log it covers.

Functions of the `Replica` (like `rejoin.py`), kept apart because catch-up changes for its own
reasons (sources, bounds, snapshots) while the replica's step stays one dispatch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyxos.core.ids import NodeId, Slot
from pyxos.core.io import Effect, Note, RestoreSnapshot, Send
from pyxos.core.messages import CatchupReply, CatchupRequest, DecidedEntry, SnapshotTransfer
from pyxos.core.records import Snapshot

if TYPE_CHECKING:
    from pyxos.core.replica import Replica


def request(replica: Replica) -> Send:
    """Ask for the next missing decided slots (the caller checked that some are missing)."""
    learner = replica.learner
    replica.catchup_tick = replica.tick
    start = learner.decided_upto + 1
    upto = min(learner.commit_hint, start + replica.config.catchup_slots_max - 1)
    return Send(to=_source(replica), message=CatchupRequest(from_slot=start, upto=upto))


def _source(replica: Replica) -> NodeId:
    replica.catchup_attempts += 1
    owner = replica.config.owner(replica.view)
    if owner != replica.node_id and replica.catchup_attempts % 2 == 1:
        return owner
    peers = replica.config.peers
    return peers[replica._rng.randrange(len(peers))]


def serve(replica: Replica, sender: NodeId, from_slot: Slot, upto: Slot) -> list[Effect]:
    """Answer a peer's `CatchupRequest`: our snapshot if it asks below it, else what we have."""
    snapshot = replica.snapshot
    if snapshot is not None and from_slot <= snapshot.slot:
        transfer = SnapshotTransfer(slot=snapshot.slot, state=snapshot.state)
        return [Send(to=sender, message=transfer)]
    config = replica.config
    entries = replica.learner.entries(
        from_slot, upto, config.catchup_slots_max, config.catchup_bytes_max
    )
    if not entries:
        return []
    return [Send(to=sender, message=CatchupReply(entries=entries))]


def learn_entries(
    replica: Replica, sender: NodeId, entries: tuple[DecidedEntry, ...]
) -> list[Effect]:
    """Learn the decided values of a `CatchupReply`."""
    learned = 0
    for entry in entries:
        if replica._learn(entry.slot, entry.batch):
            learned += 1
    if learned:
        return [Note(kind="catchup", detail=f"slots={learned} from={sender}")]
    return []


def install_snapshot(replica: Replica, sender: NodeId, slot: Slot, state: bytes) -> list[Effect]:
    """A peer's snapshot replaces every slot up to `slot` (unless we already have them)."""
    if slot <= replica.learner.decided_upto:
        return []  # we already have everything it covers
    snapshot = Snapshot(slot=slot, promised=replica.acceptor.promised, state=state)
    replica.snapshot = snapshot
    replica.acceptor.compact(slot)
    replica.learner.install(slot)
    return [
        RestoreSnapshot(snapshot=snapshot),
        Note(kind="snapshot_installed", detail=f"slot={slot} from={sender}"),
    ]
