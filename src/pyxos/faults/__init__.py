"""The fault vocabulary: what can go wrong, as plain values.

The simulator schedules these values against its virtual network and disks; a real-cluster
chaos tool can apply the same values to processes and network namespaces. Nothing here knows how
a fault is carried out. `pyxos.faults.partitions` builds the blocked-link sets of the partition
shapes both tools use (halves, a minority cut off, one-way, bridge, swizzle-clog).
"""

from pyxos.faults.values import (
    Crash,
    Fault,
    Heal,
    Link,
    Partition,
    Rebuild,
    Restart,
    SetDelay,
    SetDrop,
    SetDuplicate,
    describe_fault,
)

__all__ = [
    "Crash",
    "Fault",
    "Heal",
    "Link",
    "Partition",
    "Rebuild",
    "Restart",
    "SetDelay",
    "SetDrop",
    "SetDuplicate",
    "describe_fault",
]
