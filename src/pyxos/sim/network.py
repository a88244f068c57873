"""The simulated network: per-message delay, loss, duplication, and partitions.

`transit(src, dst)` decides the fate of one message at the moment it is sent and returns the
delays of the copies that will arrive: `()` (lost or cut), one delay, or two (duplicated, each
copy with its own delay). Independent random delays reorder messages. The runner turns each
delay into a delivery event and drops deliveries to a node that is down when they arrive.

Partitions cut directed links between nodes. Clients are never partitioned (a client reaches
every node, subject to delay and loss like everyone else): the partition shapes are about the
replicas, and a client cut off from a majority already behaves like one whose requests time out.
A node's message to itself always arrives, after no delay.

With a `Topology` (`pyxos.sim.wan`), a message's delay is the topology's for its two ends (a
wide-area round trip between sites, LAN inside one, jitter) instead of the uniform one; loss,
duplication and partitions work as without it, and `SetDelay` changes only the uniform delays,
which a topology does not use. Without one the network draws exactly what it always drew, so
every seed's run is unchanged.
"""

from __future__ import annotations

from random import Random

from pyxos.faults import Fault, Heal, Link, Partition, SetDelay, SetDrop, SetDuplicate
from pyxos.sim.wan import Topology


class SimNetwork:
    """Network conditions and counters. All randomness comes from the `rng` it was given."""

    __slots__ = (
        "_blocked",
        "_rng",
        "delay_us_max",
        "delay_us_min",
        "drop_p",
        "dropped",
        "duplicate_p",
        "duplicated",
        "sent",
        "topology",
    )

    def __init__(
        self,
        rng: Random,
        *,
        delay_us_min: int,
        delay_us_max: int,
        topology: Topology | None = None,
    ) -> None:
        self._rng = rng
        self.topology = topology
        self._blocked: frozenset[Link] = frozenset()
        self.drop_p = 0.0
        self.duplicate_p = 0.0
        self.delay_us_min = delay_us_min
        self.delay_us_max = delay_us_max
        self.sent = 0
        self.dropped = 0
        self.duplicated = 0

    def apply(self, fault: Fault) -> None:
        """Apply a network fault. Raises `ValueError` for a fault that is not about the network."""
        match fault:
            case Partition(blocked=blocked):
                self._blocked = blocked
            case Heal():
                self._blocked = frozenset()
            case SetDrop(p=p):
                self.drop_p = p
            case SetDuplicate(p=p):
                self.duplicate_p = p
            case SetDelay(delay_us_min=low, delay_us_max=high):
                self.delay_us_min = low
                self.delay_us_max = high
            case _:
                raise ValueError(f"not a network fault: {fault!r}")

    @property
    def blocked(self) -> frozenset[Link]:
        return self._blocked

    def cuts(self, src: int, dst: int) -> bool:
        """True if the current partition loses every message from `src` to `dst`."""
        return (src, dst) in self._blocked

    def transit(self, src: int, dst: int) -> tuple[int, ...]:
        """Decide one message's fate: the delays (us) of the copies that arrive."""
        self.sent += 1
        if src == dst:
            return (0,)
        if (src, dst) in self._blocked:
            self.dropped += 1
            return ()
        rng = self._rng
        if self.drop_p and rng.random() < self.drop_p:
            self.dropped += 1
            return ()
        topology = self.topology
        if topology is not None:
            first = topology.delay_us(src, dst, rng)
            if self.duplicate_p and rng.random() < self.duplicate_p:
                self.duplicated += 1
                return (first, topology.delay_us(src, dst, rng))
            return (first,)
        low = self.delay_us_min
        span = self.delay_us_max - low + 1
        first = low + int(rng.random() * span)
        if self.duplicate_p and rng.random() < self.duplicate_p:
            self.duplicated += 1
            return (first, low + int(rng.random() * span))
        return (first,)
