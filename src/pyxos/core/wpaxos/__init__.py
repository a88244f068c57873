"""WPaxos: a Paxos log per object, owned by the node that last stole it, in zones.

The package's public face is `SPEC` (what the host knows of the protocol) and the message and
record types that tests and tools name; everything else is internal to the package.
"""

from pyxos.core.protocol import CoverageCounter, ExecutionOrder, ProtocolSpec
from pyxos.core.wpaxos.messages import MESSAGE_CLASSES, Message
from pyxos.core.wpaxos.policy import (
    DEFAULT_POLICY,
    POLICIES,
    PolicySpec,
    check_option,
    parse_policy,
)
from pyxos.core.wpaxos.records import (
    RECORD_CLASSES,
    AcceptedValue,
    DecidedValue,
    Promised,
    Record,
    covers,
    extent,
    fact,
)
from pyxos.core.wpaxos.replica import PROTOCOL_NAME, Replica

SPEC = ProtocolSpec(
    name=PROTOCOL_NAME,
    version=1,
    summary="a log per object, owned by the node that stole it last; phase 2 in its zone",
    order=ExecutionOrder.PER_OBJECT,
    message_type=Message,
    record_type=Record,
    record_classes=RECORD_CLASSES,
    build=Replica,
    covers=covers,
    extent=extent,
    fact=fact,
    reads_through_log=True,
    options={
        "policy": (
            "when an object moves to the zone that uses it: immediate, consecutive[:N], "
            f"majority[:TICKS] or ema[:PERCENT] (default {DEFAULT_POLICY})"
        )
    },
    check_option=check_option,
    coverage=(
        CoverageCounter("steal", "steal"),
        CoverageCounter("forward", "forward"),
        CoverageCounter("repropose_after_steal", "repropose_after_steal"),
        CoverageCounter("steal_on_timeout", "steal_on_timeout"),
        CoverageCounter("compacted", "compacted"),
        CoverageCounter("catchup_after_restart", "catchup", after_restart=True),
        CoverageCounter("torn_tail", "torn_tail"),
    ),
)

__all__ = [
    "DEFAULT_POLICY",
    "MESSAGE_CLASSES",
    "POLICIES",
    "RECORD_CLASSES",
    "SPEC",
    "AcceptedValue",
    "DecidedValue",
    "Message",
    "PolicySpec",
    "Promised",
    "Record",
    "Replica",
    "parse_policy",
]
