"""WPaxos zone-grid quorums (Ailijiang, Charapko, Demirbas and Kosar, 2019).

The members are split into `Z` zones (regions, datacenters) of `N` nodes. The grid is sized by
`fz`, the zone failures to tolerate, and `fn`, the node failures to tolerate in each zone:

- Q1: `fn + 1` nodes in each of `Z - fz` zones;
- Q2: all but `fn` nodes of a zone, in each of `fz + 1` zones.

Any `Z - fz` zones and any `fz + 1` zones share a zone, and inside that zone `fn + 1` nodes and
`N - fn` nodes share a node, so every Q1 meets every Q2 for any `0 <= fz < Z`, `0 <= fn < N`
(all the constructor checks). A small `fz` keeps Q2 inside one zone, so phase 2 commits at
intra-zone latency and only phase 1 crosses the wide area. Actually surviving the failures also
needs `Z >= 2 * fz + 1` (a Q2 among the live zones) and `N >= 2 * fn + 1` (a Q1 among a zone's
live nodes), as in WPaxos' usual three nodes per zone with `fn = 1`.

WPaxos gives every zone the same `N` nodes. Here zones may differ in size: Q2 in a zone is
"all but `fn` of that zone's nodes", which keeps the argument above, and `fn` must be less than
the smallest zone's size.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import KW_ONLY, dataclass, field

from pyxos.core.ids import NodeId


@dataclass(frozen=True, slots=True)
class Grid:
    """A WPaxos grid over `zones` (each inner tuple is one zone's node ids).

    Zones are stored sorted (ids inside a zone, zones by their smallest id), so two grids built
    from the same zones in another order are equal. Raises `ValueError` for no zones, an empty
    zone, an id in two places, `fz` outside `0..Z-1` or `fn` outside `0..min_zone_size-1`.
    """

    zones: tuple[tuple[NodeId, ...], ...]
    _: KW_ONLY
    fz: int
    fn: int
    members: tuple[NodeId, ...] = field(init=False)
    _zone_sets: tuple[frozenset[NodeId], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _validate(self.zones, fz=self.fz, fn=self.fn)
        zones = tuple(sorted(tuple(sorted(zone)) for zone in self.zones))
        object.__setattr__(self, "zones", zones)
        object.__setattr__(self, "members", tuple(sorted(m for zone in zones for m in zone)))
        object.__setattr__(self, "_zone_sets", tuple(frozenset(zone) for zone in zones))

    def is_q1(self, acks: Collection[NodeId]) -> bool:
        need = self.fn + 1
        full = sum(1 for zone in self._zone_sets if len(zone.intersection(acks)) >= need)
        return full >= len(self._zone_sets) - self.fz

    def is_q2(self, acks: Collection[NodeId]) -> bool:
        fn = self.fn
        full = sum(1 for zone in self._zone_sets if len(zone.intersection(acks)) >= len(zone) - fn)
        return full >= self.fz + 1


def _validate(zones: tuple[tuple[NodeId, ...], ...], *, fz: int, fn: int) -> None:
    if not zones:
        raise ValueError("a zone grid needs at least one zone")
    if any(not zone for zone in zones):
        raise ValueError(f"every zone needs at least one node: {zones}")
    ids = [m for zone in zones for m in zone]
    if len(set(ids)) != len(ids):
        raise ValueError(f"a node id appears twice in the zones {zones}")
    if not 0 <= fz < len(zones):
        raise ValueError(f"fz={fz} must be at least 0 and less than the {len(zones)} zones")
    smallest = min(len(zone) for zone in zones)
    if not 0 <= fn < smallest:
        raise ValueError(f"fn={fn} must be at least 0 and less than the smallest zone ({smallest})")
