"""The sequential specification of one key of the KV store.

The checker asks one question of the model: applied to this state, can this operation return
what it returned, and what is the state afterwards? A key's state is its value, None when it is
absent (the initial state). Keys are independent, so the checker runs one model per key.

An operation whose outcome is unknown (`complete is None`) returned nothing we saw: it is
always allowed and only its effect on the state matters.
"""

from __future__ import annotations

from typing import assert_never

from pyxos.check.history import Operation

State = str | None
INITIAL: State = None


def apply(state: State, op: Operation) -> tuple[str | None, State]:
    """Run `op` on `state`: `(output, next_state)`. The output is the value read (`get`) or the
    previous value (`put`, `delete`, `cas`), so it is always the state before."""
    match op.kind:
        case "get":
            return state, state
        case "put":
            return state, op.value
        case "delete":
            return state, None
        case "cas":
            return state, op.value if state == op.expected else state
        case _:
            assert_never(op.kind)


def step(state: State, op: Operation) -> tuple[bool, State]:
    """`(allowed, next_state)`: whether `op` may take effect in `state` and return what it
    returned (always, for an unknown outcome), and the state after it."""
    output, after = apply(state, op)
    return (op.complete is None or output == op.output), after
