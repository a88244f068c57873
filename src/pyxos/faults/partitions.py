"""Partition shapes as blocked-link sets.

Each builder takes the groups explicitly (the caller chooses them, randomly or not) and returns
a `Partition` that cuts exactly the links the shape needs:

- `split(a, b)`: no link between group `a` and group `b`, both directions (`halves` when the
  groups are about equal, `minority` when one side is less than half);
- `one_way(src, dst)`: messages from `src` nodes to `dst` nodes are lost; the reverse works;
- `bridge(a, b, node)`: `a` and `b` are split, but both still talk to the bridge `node`;
- `swizzle_clog(order_cut, order_heal, members)`: the sequence of partitions that cuts nodes off
  one at a time (each cut node is isolated from every other member) and then reconnects them in
  a different order; the last step is an empty partition (the caller follows it with a `Heal`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyxos.core.ids import NodeId
from pyxos.faults.values import Link, Partition


def _links(src: Iterable[NodeId], dst: Iterable[NodeId]) -> set[Link]:
    dst = tuple(dst)
    return {(s, d) for s in src for d in dst if s != d}


def split(a: Iterable[NodeId], b: Iterable[NodeId], *, kind: str = "halves") -> Partition:
    """Cut every link between `a` and `b`, both ways."""
    a, b = tuple(a), tuple(b)
    if set(a) & set(b):
        raise ValueError(f"groups overlap: {sorted(a)} and {sorted(b)}")
    return Partition(blocked=frozenset(_links(a, b) | _links(b, a)), kind=kind)


def one_way(src: Iterable[NodeId], dst: Iterable[NodeId]) -> Partition:
    """Lose messages from `src` to `dst` only."""
    src, dst = tuple(src), tuple(dst)
    if set(src) & set(dst):
        raise ValueError(f"groups overlap: {sorted(src)} and {sorted(dst)}")
    return Partition(blocked=frozenset(_links(src, dst)), kind="one-way")


def bridge(a: Iterable[NodeId], b: Iterable[NodeId], node: NodeId) -> Partition:
    """Split `a` from `b`; the bridge `node` (in neither group) keeps talking to both."""
    a, b = tuple(a), tuple(b)
    if node in a or node in b:
        raise ValueError(f"bridge node {node} must not be in either group")
    return Partition(blocked=split(a, b).blocked, kind="bridge")


def isolate(nodes: Iterable[NodeId], members: Sequence[NodeId], *, kind: str) -> Partition:
    """Cut each of `nodes` from every other member (including each other)."""
    cut = tuple(nodes)
    blocked: set[Link] = set()
    for node in cut:
        others = [m for m in members if m != node]
        blocked |= _links([node], others) | _links(others, [node])
    return Partition(blocked=frozenset(blocked), kind=kind)


def swizzle_clog(
    order_cut: Sequence[NodeId], order_heal: Sequence[NodeId], members: Sequence[NodeId]
) -> list[Partition]:
    """The partitions of a swizzle-clog: `len(order_cut)` cuts, then as many reconnections.

    `order_heal` must hold the same nodes as `order_cut`. The result's last element blocks
    nothing.
    """
    if sorted(order_cut) != sorted(order_heal):
        raise ValueError("swizzle: the healed nodes must be the cut nodes")
    steps: list[Partition] = []
    cut: list[NodeId] = []
    for node in order_cut:
        cut.append(node)
        steps.append(isolate(cut, members, kind="swizzle"))
    for node in order_heal:
        cut.remove(node)
        steps.append(isolate(cut, members, kind="swizzle"))
    return steps
