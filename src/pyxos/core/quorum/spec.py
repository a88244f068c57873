"""Choosing a quorum system by name: `majority`, `flexible` (q1, q2) or `grid` (fz, fn).

A `QuorumSpec` is what a cluster file's `[quorums]` table or the simulator's `--quorums` option
says; `build(members, zones)` turns it into the `QuorumSystem` the replicas use, checked: a
flexible pair whose phase-1 and phase-2 quorums could miss each other, or a grid that cannot be
formed over the zones, is a `ValueError` that names the sizes.

The text form (the simulator's `--quorums`) is the kind, then `:` and comma-separated
`name=value` settings: `majority`, `flexible:q1=4,q2=2`, `grid:fz=1,fn=0` (the simulator splits
its members into `zones=Z` zones of consecutive ids: `grid:zones=3,fz=1,fn=0`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pyxos.core.ids import NodeId
from pyxos.core.quorum.base import QuorumSystem
from pyxos.core.quorum.flexible import Flexible
from pyxos.core.quorum.grid import Grid
from pyxos.core.quorum.majority import Majority

KINDS = ("majority", "flexible", "grid")
_SETTINGS = {"majority": (), "flexible": ("q1", "q2"), "grid": ("zones", "fz", "fn")}


@dataclass(frozen=True, slots=True, kw_only=True)
class QuorumSpec:
    """A quorum system by kind and settings (unset settings are None)."""

    kind: str = "majority"
    q1: int | None = None
    q2: int | None = None
    fz: int | None = None
    fn: int | None = None
    zones: int | None = None  # the simulator's: split the members into this many zones

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown quorum kind {self.kind!r}: use one of {', '.join(KINDS)}")
        allowed = _SETTINGS[self.kind]
        for name in ("q1", "q2", "fz", "fn", "zones"):
            value = getattr(self, name)
            if value is not None and name not in allowed:
                raise ValueError(f"{self.kind} quorums take no {name}")
        if self.kind == "flexible" and (self.q1 is None or self.q2 is None):
            raise ValueError("flexible quorums need both q1 and q2 (the phase-1 and phase-2 sizes)")

    def build(
        self,
        members: tuple[NodeId, ...],
        zones: Mapping[int, tuple[NodeId, ...]] | None = None,
    ) -> QuorumSystem:
        """The quorum system over `members`; `zones` (zone -> its members) for a grid.

        Raises `ValueError` for sizes that cannot work over these members."""
        if self.kind == "majority":
            return Majority(members)
        if self.kind == "flexible":
            assert self.q1 is not None and self.q2 is not None
            return Flexible(members, q1_size=self.q1, q2_size=self.q2)
        groups = self._zones(members, zones)
        return Grid(groups, fz=self.fz or 0, fn=self.fn or 0)

    def _zones(
        self, members: tuple[NodeId, ...], zones: Mapping[int, tuple[NodeId, ...]] | None
    ) -> tuple[tuple[NodeId, ...], ...]:
        if self.zones is not None:
            count = self.zones
            if not 1 <= count <= len(members):
                raise ValueError(f"zones={count} must be between 1 and the {len(members)} members")
            ordered = sorted(members)
            size, extra = divmod(len(ordered), count)
            groups, start = [], 0
            for index in range(count):
                end = start + size + (1 if index < extra else 0)
                groups.append(tuple(ordered[start:end]))
                start = end
            return tuple(groups)
        if not zones or len(zones) < 2:
            raise ValueError(
                "grid quorums need the members in zones: give the nodes zone.node ids "
                '(id = "1.1", "2.1", ...) in at least two zones'
            )
        return tuple(zones[z] for z in sorted(zones))

    def describe(self) -> str:
        """The text form (`parse` reads it back)."""
        settings = [
            f"{name}={getattr(self, name)}"
            for name in _SETTINGS[self.kind]
            if getattr(self, name) is not None
        ]
        return self.kind + (":" + ",".join(settings) if settings else "")


MAJORITY = QuorumSpec()


def parse_quorums(text: str) -> QuorumSpec:
    """`majority`, `flexible:q1=4,q2=2`, `grid:zones=3,fz=1,fn=0`. Raises `ValueError`."""
    kind, _, rest = text.strip().partition(":")
    values: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not value.strip().lstrip("-").isdigit():
            raise ValueError(f"{part!r} in {text!r} is not name=number")
        values[name.strip()] = int(value)
    unknown = sorted(set(values) - {"q1", "q2", "fz", "fn", "zones"})
    if unknown:
        raise ValueError(f"unknown quorum setting(s) {', '.join(unknown)} in {text!r}")
    return QuorumSpec(kind=kind.strip(), **values)
