"""A wide-area latency model: sites, the round trips between them, LAN inside a site, jitter.

Theory of operation. A `Topology` knows the sites (zones) by name, the round-trip time between
every two of them, the round trip inside a site and the jitter of a wide-area round trip. It
places every address (a node or a client) in a site: explicitly (`placement`), or for a node
with a zone-style id (`zone * 1000 + n`, zones numbered from 1) by its id, site `zone - 1`.
`delay_us(src, dst, rng)` draws one message's one-way delay from the run's generator, so a run
stays a pure function of its seed:

- between two sites: half the round trip, plus a normal jitter whose standard deviation is
  `jitter_us / sqrt(2)` (two independent one-way draws make a round trip of standard deviation
  `jitter_us`), never below half the LAN round trip;
- inside a site: uniform between a quarter and three quarters of the LAN round trip (its mean is
  half of it).

Independent draws reorder messages on a link, as the simulator's uniform delays do. The default
topology is the five AWS sites the EPaxos and WPaxos papers used (`PAPER_SITES`,
`PAPER_RTT_MS`): see docs/BENCHMARKS.md.

`isolate_zone` builds the partition that cuts one site away from the others (its nodes and its
clients keep talking to each other), the simulator's way of losing a whole zone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from random import Random

from pyxos.faults import Link, Partition

PAPER_SITES: tuple[str, ...] = ("VA", "CA", "OR", "IR", "JP")
"""Virginia, California, Oregon, Ireland, Tokyo: the AWS regions of EPaxos and WPaxos."""

PAPER_RTT_MS: tuple[tuple[float, ...], ...] = (
    (0.0, 72.2, 87.8, 80.5, 145.3),
    (72.2, 0.0, 19.3, 153.2, 102.5),
    (87.8, 19.3, 0.0, 137.0, 89.1),
    (80.5, 153.2, 137.0, 0.0, 212.4),
    (145.3, 102.5, 89.1, 212.4, 0.0),
)
"""Round trips (ms) between `PAPER_SITES`, as the papers measured them in 2017."""

LAN_RTT_US = 400
"""A round trip inside a site (EPaxos: about 0.4 ms)."""
JITTER_US = 2_000
"""The standard deviation of a wide-area round trip (about 2 ms)."""
ZONE_ID_STRIDE = 1000
"""A zone-style node id is `zone * ZONE_ID_STRIDE + n`, zones and nodes numbered from 1."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Topology:
    """Sites, the round trips between them, and where each address sits.

    Raises `ValueError` for a matrix that is not square over the sites, not symmetric, not zero
    on its diagonal or negative, for duplicate site names, a negative LAN round trip or jitter,
    or a placement in a site that does not exist.
    """

    sites: tuple[str, ...] = PAPER_SITES
    rtt_ms: tuple[tuple[float, ...], ...] = PAPER_RTT_MS
    lan_rtt_us: int = LAN_RTT_US
    jitter_us: int = JITTER_US
    placement: Mapping[int, int] = field(default_factory=dict)
    """address -> site index, for what is not a zone-style node id (clients, mostly)."""
    _mean_us: tuple[tuple[float, ...], ...] = field(init=False, repr=False, compare=False)
    _sigma_us: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_matrix(self.sites, self.rtt_ms)
        if self.lan_rtt_us < 0 or self.jitter_us < 0:
            raise ValueError("lan_rtt_us and jitter_us must not be negative")
        placement = dict(self.placement)
        for address, zone in placement.items():
            if not 0 <= zone < len(self.sites):
                raise ValueError(f"address {address} placed in zone {zone}: no such site")
        object.__setattr__(self, "placement", placement)
        means = tuple(tuple(ms * 500 for ms in row) for row in self.rtt_ms)
        object.__setattr__(self, "_mean_us", means)
        object.__setattr__(self, "_sigma_us", self.jitter_us / math.sqrt(2))

    # ---- where things are ---------------------------------------------------------------------
    def placed(self, placement: Mapping[int, int]) -> Topology:
        """This topology with `placement` (address -> site index) added to its own."""
        return replace(self, placement={**self.placement, **placement})

    def zone_of(self, address: int) -> int:
        """The index of the site `address` sits in. Raises `ValueError` for an address that is
        neither placed nor a zone-style node id of one of the sites."""
        zone = self.placement.get(address)
        if zone is not None:
            return zone
        zone = address // ZONE_ID_STRIDE - 1
        if not 0 <= zone < len(self.sites) or address % ZONE_ID_STRIDE == 0:
            raise ValueError(
                f"address {address} has no site: place it, or give nodes zone-style ids "
                f"(zone * {ZONE_ID_STRIDE} + n, zones 1..{len(self.sites)})"
            )
        return zone

    def zone_named(self, name: str) -> int:
        """The index of the site called `name` (case does not matter). `ValueError`."""
        for index, site in enumerate(self.sites):
            if site.lower() == name.strip().lower():
                return index
        raise ValueError(f"unknown zone {name!r}: the sites are {', '.join(self.sites)}")

    # ---- how long it takes --------------------------------------------------------------------
    def rtt_between_us(self, a: int, b: int) -> int:
        """The nominal round trip between sites `a` and `b` (the LAN's inside one site)."""
        return self.lan_rtt_us if a == b else round(self.rtt_ms[a][b] * 1000)

    def delay_us(self, src: int, dst: int, rng: Random) -> int:
        """One message's one-way delay from address `src` to `dst`, drawn from `rng`."""
        a = self.zone_of(src)
        b = self.zone_of(dst)
        half = self.lan_rtt_us / 2
        if a == b:
            return int(half * (0.5 + rng.random()))
        delay = self._mean_us[a][b] + rng.gauss(0.0, self._sigma_us)
        return int(max(half, delay))


def _check_matrix(sites: tuple[str, ...], rtt_ms: tuple[tuple[float, ...], ...]) -> None:
    count = len(sites)
    if count < 1:
        raise ValueError("a topology needs at least one site")
    if len({s.lower() for s in sites}) != count:
        raise ValueError(f"site names must differ: {sites}")
    if len(rtt_ms) != count or any(len(row) != count for row in rtt_ms):
        raise ValueError(f"the round-trip matrix must be {count} x {count}, one row per site")
    for i in range(count):
        if rtt_ms[i][i] != 0:
            raise ValueError(f"the round trip from {sites[i]} to itself must be 0 in the matrix")
        for j in range(count):
            if rtt_ms[i][j] < 0:
                raise ValueError(f"negative round trip {sites[i]}-{sites[j]}")
            if rtt_ms[i][j] != rtt_ms[j][i]:
                raise ValueError(
                    f"the round-trip matrix is not symmetric: {sites[i]}-{sites[j]} "
                    f"{rtt_ms[i][j]} ms, {sites[j]}-{sites[i]} {rtt_ms[j][i]} ms"
                )


def paper_topology(
    zones: int = len(PAPER_SITES), *, lan_rtt_us: int = LAN_RTT_US, jitter_us: int = JITTER_US
) -> Topology:
    """The first `zones` of the papers' sites. Raises `ValueError` for another count."""
    if not 1 <= zones <= len(PAPER_SITES):
        raise ValueError(f"zones must be between 1 and {len(PAPER_SITES)} (the papers' sites)")
    return Topology(
        sites=PAPER_SITES[:zones],
        rtt_ms=tuple(row[:zones] for row in PAPER_RTT_MS[:zones]),
        lan_rtt_us=lan_rtt_us,
        jitter_us=jitter_us,
    )


def isolate_zone(topology: Topology, zone: int, addresses: Iterable[int]) -> Partition:
    """The partition that cuts site `zone` away: every link, both ways, between an address in
    it and an address outside it (`addresses`: the nodes, and the clients to cut too)."""
    inside: list[int] = []
    outside: list[int] = []
    for address in addresses:
        (inside if topology.zone_of(address) == zone else outside).append(address)
    blocked: set[Link] = set()
    for a in inside:
        for b in outside:
            blocked.add((a, b))
            blocked.add((b, a))
    return Partition(blocked=frozenset(blocked), kind=f"zone-{topology.sites[zone]}")
