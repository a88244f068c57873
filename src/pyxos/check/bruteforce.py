"""A reference linearizability checker: exhaustive, obviously correct, exponential.

It shares nothing with the WGL checker beyond `Operation`: no partitioning by key, no pruning,
its own copy of the KV semantics over the whole store. Tests compare the two on small histories,
so a bug in either one's shortcuts shows up as a disagreement. Use it on histories of about ten
operations at most.

It enumerates every order of the operations that respects real time (an operation that
completed strictly before another was invoked comes first), choosing at each position any
operation whose real-time predecessors are all placed. An unknown-outcome operation precedes
nothing, so it may be placed anywhere after its invocation or be left out (never took effect):
the search stops as soon as every completed operation is placed. A prefix whose outputs
already disagree with the store is abandoned (that prunes only dead ends, never a valid order).
"""

from __future__ import annotations

from collections.abc import Sequence, Set

from pyxos.check.history import Operation

_Store = dict[str, str]


def is_linearizable(ops: Sequence[Operation], *, blind: Set[int] = frozenset()) -> bool:
    """Whether some real-time-respecting order of (a subset of the unknown-outcome) operations
    explains every completed operation's output. Completed operations whose indices are in
    `blind` must be placed too, but their outputs are not checked."""
    ops = list(ops)
    # before[i]: the operations that must be placed before operation i.
    before = [
        frozenset(
            j
            for j, other in enumerate(ops)
            if other.complete is not None and other.complete < op.invoke
        )
        for op in ops
    ]
    must_place = frozenset(i for i, op in enumerate(ops) if op.complete is not None)

    def explore(placed: frozenset[int], store: _Store) -> bool:
        if must_place <= placed:
            return True  # the unknown operations not placed yet never take effect
        for i, op in enumerate(ops):
            if i in placed or not before[i] <= placed:
                continue
            output, after = _run(store, op)
            if op.complete is not None and i not in blind and output != op.output:
                continue
            if explore(placed | {i}, after):
                return True
        return False

    return explore(frozenset(), {})


def _run(store: _Store, op: Operation) -> tuple[str | None, _Store]:
    previous = store.get(op.key)
    if op.kind == "get":
        return previous, store
    if op.kind == "delete" or (op.kind == "cas" and previous != op.expected):
        new_value = None if op.kind == "delete" else previous
    else:
        new_value = op.value
    updated = dict(store)
    if new_value is None:
        updated.pop(op.key, None)
    else:
        updated[op.key] = new_value
    return previous, updated
