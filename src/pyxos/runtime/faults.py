"""Faults injected into one running node: a table the runner consults on every peer message.

Theory of operation. A `FaultTable` holds the faults an operator (or `pyxos chaos`) switched
on, each until a time on the event loop's monotonic clock. The runner asks it about every peer
message it sends (`outbound`: drop it, or send it after a delay) and receives (`inbound`:
accept it or not), and whether client requests are refused (`crashed`). When nothing is
active, the only cost on the hot path is reading `active`; faults expire lazily, on the next
question after their end.

The kinds are Paxi's, plus a partition:

- `crash`: the node stops talking (every peer message in and out is dropped) and refuses
  client requests (`unavailable`); its state stays, as after a pause of its network and API.
- `drop`: messages from this node to `peers` are dropped.
- `slow`: messages from this node to `peers` leave `delay_ms` late.
- `flaky`: each message from this node to `peers` is dropped with probability `p`.
- `partition`: messages to and from `peers` are dropped (both directions, so telling one side
  of a cut is enough; `pyxos fault partition` tells both).

Time and chance are inputs: callers pass `now_s` (the loop's clock) and the table draws from an
injected `random.Random`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random
from typing import Any, Literal, cast, get_args

from pyxos.core.ids import NodeId

FaultKind = Literal["crash", "drop", "slow", "flaky", "partition"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
DURATION_S_MAX = 3600.0
"""No fault outlives an hour: a forgotten one must not cripple a cluster for good."""
DELAY_MS_MAX = 60_000


class FaultError(ValueError):
    """A fault that cannot be injected (bad kind, peer, duration or parameter)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One active fault: `kind` towards `peers` (empty for `crash`) until `until_s`."""

    kind: FaultKind
    until_s: float
    peers: tuple[NodeId, ...] = ()
    delay_ms: int = 0
    p: float = 0.0

    def describe(self, now_s: float) -> dict[str, Any]:
        """A JSON-ready view, with the seconds left."""
        view: dict[str, Any] = {
            "kind": self.kind,
            "peers": list(self.peers),
            "remaining_s": round(max(0.0, self.until_s - now_s), 3),
        }
        if self.kind == "slow":
            view["delay_ms"] = self.delay_ms
        if self.kind == "flaky":
            view["p"] = self.p
        return view


def make_fault(
    kind: str,
    *,
    node: NodeId,
    members: tuple[NodeId, ...],
    now_s: float,
    duration_s: float,
    peers: tuple[NodeId, ...] = (),
    delay_ms: int = 0,
    p: float = 0.0,
) -> Fault:
    """A checked `Fault` for node `node` of `members`. Raises `FaultError` saying what is wrong."""
    if kind not in FAULT_KINDS:
        raise FaultError(f"kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
    if not 0 < duration_s <= DURATION_S_MAX:
        raise FaultError(f"the duration must be > 0 and <= {DURATION_S_MAX:.0f} s")
    if kind == "crash":
        if peers:
            raise FaultError("crash takes no peers: the whole node stops")
    else:
        if not peers:
            raise FaultError(f"{kind} needs at least one peer")
        for peer in peers:
            if peer == node or peer not in members:
                others = [m for m in members if m != node]
                raise FaultError(f"node {peer} is not a peer of node {node} (peers: {others})")
    if kind == "slow" and not 0 < delay_ms <= DELAY_MS_MAX:
        raise FaultError(f"slow needs a delay from 1 to {DELAY_MS_MAX} ms")
    if kind == "flaky" and not 0.0 < p <= 1.0:
        raise FaultError("flaky needs a drop probability p with 0 < p <= 1")
    return Fault(
        kind=cast(FaultKind, kind),  # checked against FAULT_KINDS above
        until_s=now_s + duration_s,
        peers=tuple(sorted(set(peers))),
        delay_ms=delay_ms if kind == "slow" else 0,
        p=p if kind == "flaky" else 0.0,
    )


@dataclass(slots=True)
class FaultCounters:
    dropped_out: int = 0
    dropped_in: int = 0
    delayed: int = 0
    refused_clients: int = 0


@dataclass(slots=True)
class FaultTable:
    """The active faults of one node. Read `active` first: every other call assumes it is set."""

    rng: Random = field(default_factory=Random)
    active: bool = False
    counters: FaultCounters = field(default_factory=FaultCounters)
    _faults: list[Fault] = field(default_factory=list)
    _next_end_s: float = float("inf")

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)
        self._next_end_s = min(self._next_end_s, fault.until_s)
        self.active = True

    def heal(self) -> int:
        """End every fault now; how many there were."""
        healed = len(self._faults)
        self._faults.clear()
        self._next_end_s = float("inf")
        self.active = False
        return healed

    def current(self, now_s: float) -> list[Fault]:
        """The faults still active at `now_s`, oldest first."""
        if now_s >= self._next_end_s:
            self._faults = [f for f in self._faults if f.until_s > now_s]
            self._next_end_s = min((f.until_s for f in self._faults), default=float("inf"))
            self.active = bool(self._faults)
        return self._faults

    def crashed(self, now_s: float) -> bool:
        return any(f.kind == "crash" for f in self.current(now_s))

    def refuses_clients(self, now_s: float) -> bool:
        """True (and counted) while the node is crashed."""
        if self.crashed(now_s):
            self.counters.refused_clients += 1
            return True
        return False

    def outbound(self, peer: NodeId, now_s: float) -> float | None:
        """What happens to a message to `peer` sent now: None (dropped), or the seconds it
        waits before it leaves (0.0: at once)."""
        delay_ms = 0
        for fault in self.current(now_s):
            kind = fault.kind
            if kind == "crash" or (peer in fault.peers and kind in ("drop", "partition")):
                self.counters.dropped_out += 1
                return None
            if peer not in fault.peers:
                continue
            if kind == "flaky" and self.rng.random() < fault.p:
                self.counters.dropped_out += 1
                return None
            if kind == "slow":
                delay_ms = max(delay_ms, fault.delay_ms)
        if delay_ms:
            self.counters.delayed += 1
        return delay_ms / 1000

    def inbound(self, peer: NodeId, now_s: float) -> bool:
        """Whether a message from `peer` arriving now is taken (counted when it is not)."""
        for fault in self.current(now_s):
            if fault.kind == "crash" or (fault.kind == "partition" and peer in fault.peers):
                self.counters.dropped_in += 1
                return False
        return True

    def describe(self, now_s: float) -> dict[str, Any]:
        """The active faults and the counters, JSON-ready."""
        counters = self.counters
        return {
            "faults": [f.describe(now_s) for f in self.current(now_s)],
            "counters": {
                "dropped_out": counters.dropped_out,
                "dropped_in": counters.dropped_in,
                "delayed": counters.delayed,
                "refused_clients": counters.refused_clients,
            },
        }
