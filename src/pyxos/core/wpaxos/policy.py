"""Migration policies: when the owner of an object should let another zone take it.

Theory of operation (after Paxi's WPaxos). Requests for an object reach its owner from every
zone: its own clients', and those forwarded by nodes in other zones. The owner counts where
they come from; when its policy says that another zone uses the object more than its own, it
invites a node of that zone to steal the object (`Handover`), and that node takes it with
phase 1. Moving an object costs one phase 1 across zones; keeping it where it is used makes
every later commit a phase 2 inside the user's zone.

- `immediate`: never forward: a node that gets a request for an object it does not own steals
  it at once. Fast to adapt, but two zones that both use an object steal it back and forth
  (they duel) under load.
- `consecutive:N`: hand over once N requests in a row came from one other zone.
- `majority:TICKS` (the default, "adaptive"): every TICKS ticks, hand over to a zone that sent
  at least half of the interval's requests.
- `ema:PERCENT`: an exponential moving average of each zone's share of requests (weight
  PERCENT per request); hand over when another zone's average exceeds the owner's own by half.

A policy sees zones as small integers and time as ticks; it never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

POLICIES = ("immediate", "consecutive", "majority", "ema")
DEFAULT_POLICY = "majority"


class Policy(Protocol):
    """One object's request statistics at its owner."""

    def hit(self, zone: int, tick: int) -> int | None:
        """A request came from `zone` at `tick`; the zone the object should move to, if any."""
        ...


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A policy by name and its one parameter (see the module docstring)."""

    name: str = DEFAULT_POLICY
    value: int = 0

    def __post_init__(self) -> None:
        if self.name not in POLICIES:
            raise ValueError(f"unknown migration policy {self.name!r}: use one of {POLICIES}")
        if self.value < 0:
            raise ValueError(f"the {self.name} policy's parameter must not be negative")

    @property
    def steals_at_once(self) -> bool:
        """`immediate`: a node steals instead of forwarding."""
        return self.name == "immediate"

    def make(self, own_zone: int) -> Policy:
        """A fresh policy for an object owned in `own_zone`."""
        if self.name == "consecutive":
            return Consecutive(own_zone, self.value or 3)
        if self.name == "ema":
            return Ema(own_zone, self.value or 20)
        if self.name == "majority":
            return Majority(own_zone, self.value or 100)
        return Never()

    def describe(self) -> str:
        return self.name if not self.value else f"{self.name}:{self.value}"


def parse_policy(text: str) -> PolicySpec:
    """`majority`, `majority:100`, `consecutive:3`, `ema:20`, `immediate`. `ValueError`."""
    name, _, value = text.strip().partition(":")
    if value and not value.isdigit():
        raise ValueError(f"migration policy {text!r}: the parameter must be a whole number")
    return PolicySpec(name=name, value=int(value) if value else 0)


def check_option(name: str, value: str) -> None:
    """The protocol's options: `policy` is the only one."""
    if name == "policy":
        parse_policy(value)


class Never:
    """The owner never hands over (with `immediate`, the requesters steal instead)."""

    __slots__ = ()

    def hit(self, zone: int, tick: int) -> int | None:
        del zone, tick
        return None


class Consecutive:
    __slots__ = ("_last", "_n", "_own", "_run")

    def __init__(self, own_zone: int, n: int) -> None:
        self._own = own_zone
        self._n = n
        self._last = own_zone
        self._run = 0

    def hit(self, zone: int, tick: int) -> int | None:
        del tick
        self._run = self._run + 1 if zone == self._last else 1
        self._last = zone
        if zone != self._own and self._run >= self._n:
            self._run = 0
            return zone
        return None


class Majority:
    __slots__ = ("_hits", "_interval", "_own", "_start")

    def __init__(self, own_zone: int, interval_ticks: int) -> None:
        self._own = own_zone
        self._interval = interval_ticks
        self._hits: dict[int, int] = {}
        self._start: int | None = None

    def hit(self, zone: int, tick: int) -> int | None:
        if self._start is None:
            self._start = tick
        self._hits[zone] = self._hits.get(zone, 0) + 1
        if tick - self._start < self._interval:
            return None
        hits, total = self._hits, sum(self._hits.values())
        self._hits, self._start = {}, tick
        best = min(hits, key=lambda z: (-hits[z], z))  # ties: the smaller zone, for determinism
        if best != self._own and 2 * hits[best] >= total > 1:
            return best
        return None


class Ema:
    __slots__ = ("_avg", "_own", "_weight")

    def __init__(self, own_zone: int, weight_percent: int) -> None:
        self._own = own_zone
        self._weight = min(100, max(1, weight_percent)) / 100
        self._avg: dict[int, float] = {own_zone: 1.0}

    def hit(self, zone: int, tick: int) -> int | None:
        del tick
        weight = self._weight
        for z in self._avg:
            self._avg[z] *= 1 - weight
        self._avg[zone] = self._avg.get(zone, 0.0) + weight
        own = self._avg.get(self._own, 0.0)
        if zone != self._own and self._avg[zone] > 1.5 * own and self._avg[zone] > 0.5:
            self._avg = {zone: 1.0}
            return zone
        return None
