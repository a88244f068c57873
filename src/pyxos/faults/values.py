"""Fault values: frozen, comparable, printable the same way on every run.

A `Partition` names the directed links that are cut: `(src, dst)` in `blocked` means messages
from `src` to `dst` are lost, so a symmetric cut lists both directions and a one-way cut only
one. A new `Partition` replaces the previous one; `Heal` removes every cut. `SetDrop`,
`SetDuplicate` and `SetDelay` change the whole network's behaviour until the next change of the
same kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from pyxos.core.ids import NodeId

Link = tuple[NodeId, NodeId]
"""A directed link `(src, dst)`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Partition:
    """Cut exactly the directed links in `blocked` (and nothing else).

    `kind` says which shape built it (`halves`, `minority`, `one-way`, `bridge`, `swizzle`),
    for reports only; the links are what count.
    """

    blocked: frozenset[Link]
    kind: str = "custom"

    def __post_init__(self) -> None:
        for src, dst in self.blocked:
            if src == dst:
                raise ValueError(f"a node cannot be cut from itself: {src}")

    def cuts(self, src: NodeId, dst: NodeId) -> bool:
        return (src, dst) in self.blocked


@dataclass(frozen=True, slots=True, kw_only=True)
class Heal:
    """Remove every partition."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Crash:
    """Stop `node` abruptly: its unsynced writes are lost, its in-flight work is gone."""

    node: NodeId


@dataclass(frozen=True, slots=True, kw_only=True)
class Restart:
    """Start `node` again from what its disk synced."""

    node: NodeId


@dataclass(frozen=True, slots=True, kw_only=True)
class Rebuild:
    """The operator's answer to a damaged log: wipe the node's data and start it empty; it
    rejoins without voting until that is safe, and catches up from its peers."""

    node: NodeId


@dataclass(frozen=True, slots=True, kw_only=True)
class SetDrop:
    """Lose each message with probability `p` (0 turns loss off)."""

    p: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"drop probability {self.p} is outside [0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class SetDuplicate:
    """Deliver each message a second time with probability `p` (0 turns duplication off)."""

    p: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"duplicate probability {self.p} is outside [0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class SetDelay:
    """Delay each message by a uniform random time in `[delay_us_min, delay_us_max]`.

    A short stretch of large delays is a delay spike; random delays also reorder messages.
    """

    delay_us_min: int
    delay_us_max: int

    def __post_init__(self) -> None:
        if not 0 <= self.delay_us_min <= self.delay_us_max:
            raise ValueError(f"bad delay range [{self.delay_us_min}, {self.delay_us_max}]")


Fault = Partition | Heal | Crash | Restart | Rebuild | SetDrop | SetDuplicate | SetDelay


def describe_fault(fault: Fault) -> str:
    """One deterministic line, e.g. `partition halves 1->3 3->1` or `crash 2`."""
    match fault:
        case Partition(blocked=blocked, kind=kind):
            links = " ".join(f"{src}->{dst}" for src, dst in sorted(blocked))
            return f"partition {kind} {links}".rstrip()
        case Heal():
            return "heal"
        case Crash(node=node):
            return f"crash {node}"
        case Restart(node=node):
            return f"restart {node}"
        case Rebuild(node=node):
            return f"rebuild {node}"
        case SetDrop(p=p):
            return f"drop p={p:.4f}"
        case SetDuplicate(p=p):
            return f"duplicate p={p:.4f}"
        case SetDelay(delay_us_min=lo, delay_us_max=hi):
            return f"delay {lo}..{hi}us"
        case _:
            assert_never(fault)
