"""Multi-Paxos in the shape of *Paxos for System Builders*: one log, one leader per view.

The package's public face is `SPEC` (what the host knows of the protocol) and the message and
record types that tests and tools name; everything else is internal to the package.
"""

from pyxos.core.multipaxos.messages import MESSAGE_CLASSES, Message
from pyxos.core.multipaxos.records import (
    RECORD_CLASSES,
    AcceptedValue,
    DecidedValue,
    Promised,
    Record,
    covers,
    extent,
    fact,
)
from pyxos.core.multipaxos.replica import PROTOCOL_NAME, Replica
from pyxos.core.protocol import CoverageCounter, ExecutionOrder, ProtocolSpec

SPEC = ProtocolSpec(
    name=PROTOCOL_NAME,
    version=1,
    summary="one replicated log; a leader per view runs phase 1 once, then pipelined phase 2",
    order=ExecutionOrder.TOTAL,
    message_type=Message,
    record_type=Record,
    record_classes=RECORD_CLASSES,
    build=Replica,
    covers=covers,
    extent=extent,
    fact=fact,
    coverage=(
        CoverageCounter("leader_change", "leader", at_least=2),
        CoverageCounter("repropose", "repropose"),
        CoverageCounter("catchup_after_restart", "catchup", after_restart=True),
        CoverageCounter("catchup_snapshot", "snapshot_installed"),
        CoverageCounter("torn_tail", "torn_tail"),
        CoverageCounter("rebuild_after_corruption", "rejoined"),
    ),
)

__all__ = [
    "MESSAGE_CLASSES",
    "RECORD_CLASSES",
    "SPEC",
    "AcceptedValue",
    "DecidedValue",
    "Message",
    "Promised",
    "Record",
    "Replica",
]
