"""What a WPaxos replica reads back from its disk and how it cuts a snapshot: the object logs
rebuilt from a snapshot's cuts and the durable records after it, and a snapshot made from the
slots the node applied of each object (forgetting only what every member has learned).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

from pyxos.core.commands import batch_time
from pyxos.core.ids import Ballot, NodeId, Slot
from pyxos.core.io import DurableRecord
from pyxos.core.snapshot import ObjectCut, Snapshot
from pyxos.core.wpaxos.objects import ObjectLog
from pyxos.core.wpaxos.records import RECORD_CLASSES, AcceptedValue, DecidedValue, Promised


def rebuild(
    node_id: NodeId, snapshot: Snapshot | None, durable: Sequence[DurableRecord]
) -> tuple[dict[bytes, ObjectLog], int]:
    """Every object's log as the disk left it, and the highest log time stamped in it."""
    logs: dict[bytes, ObjectLog] = {}
    seen_ms = 0
    if snapshot is not None:
        seen_ms = snapshot.time_ms
        for cut in snapshot.objects:
            logs[cut.obj] = ObjectLog(cut.obj)
            logs[cut.obj].restore(cut.applied, cut.kept_from, cut.promised)
    for record in durable:
        if not isinstance(record, RECORD_CLASSES):
            raise TypeError(f"node {node_id}: not a WPaxos record: {record!r}")
        if record.obj not in logs:
            logs[record.obj] = ObjectLog(record.obj)
        log = logs[record.obj]
        match record:
            case Promised(ballot=ballot):
                log.promised = max(log.promised, ballot)
            case AcceptedValue(slot=slot, ballot=ballot, batch=batch):
                log.promised = max(log.promised, ballot)
                previous = log.accepted.get(slot)
                if previous is None or previous[0] <= ballot:
                    log.accepted[slot] = (ballot, batch)
                seen_ms = max(seen_ms, batch_time(batch))
            case DecidedValue(slot=slot, batch=batch):
                if slot <= log.delivered_upto:
                    log.keep(slot, batch)  # in the snapshot's state already
                else:
                    log.learn(slot, batch)
                seen_ms = max(seen_ms, batch_time(batch))
            case unreachable:
                assert_never(unreachable)
    return logs, seen_ms


def cut_snapshot(
    node_id: NodeId,
    logs: dict[bytes, ObjectLog],
    *,
    slot: Slot,
    state: bytes,
    time_ms: int,
    promised: Ballot,
    applied: tuple[tuple[bytes, Slot], ...],
) -> tuple[Snapshot, int]:
    """The snapshot of a node that applied each object of `applied` through its slot, and how
    many values its logs forgot for it."""
    cuts = []
    forgotten = 0
    for obj, upto in applied:
        log = logs.get(obj)
        if log is None or upto > log.delivered_upto:
            raise AssertionError(f"node {node_id}: {obj!r} was not applied to {upto}")
        before = log.truncated
        kept_from = log.truncate(upto)
        forgotten += kept_from - 1 - before
        cuts.append(ObjectCut(obj=obj, applied=upto, kept_from=kept_from, promised=log.promised))
    snapshot = Snapshot(
        slot=slot,
        promised=promised,
        state=state,
        time_ms=time_ms,
        objects=tuple(sorted(cuts, key=lambda cut: cut.obj)),
    )
    return snapshot, forgotten
