"""How a node takes its inputs: a turn at a time, with a flush at the end of each turn.

A driver steps a node with every input it has queued, up to `inputs_max` of them, then once
with `Flush`: the protocol proposes, announces and forwards together what the turn gathered
(`pyxos.core.io.Flush`). Large turns batch more commands per slot and more messages per write;
a turn of one input flushes after every input. The runtime takes up to `STEPS_PER_TURN` inputs
a turn; the simulator draws the bound from its seed, so both extremes are exercised.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from pyxos.core.io import Flush, Tick
from pyxos.node.io import NodeEffect, NodeInput

FLUSH = Flush()

STEPS_PER_TURN = 64
"""Inputs stepped before the runtime's stepper yields to the event loop, so that the log
writer, the sends to peers and the HTTP server are not held up behind a long run of steps."""


def run_turn(
    inbox: deque[NodeInput],
    step: Callable[[NodeInput], list[NodeEffect]],
    execute: Callable[[list[NodeEffect]], None],
    *,
    inputs_max: int,
    taken: Callable[[NodeInput], None] | None = None,
) -> int:
    """Step up to `inputs_max` inputs from the front of `inbox`, executing each one's effects,
    then `Flush`. `taken` sees each input as it leaves the inbox. Returns the inputs stepped.

    A `Tick` flushes by itself, so a turn whose last input was a tick needs no `Flush` (most
    turns of an idle node are one tick)."""
    count = 0
    flushed = True
    while inbox and count < inputs_max:
        inp = inbox.popleft()
        if taken is not None:
            taken(inp)
        count += 1
        execute(step(inp))
        flushed = type(inp) is Tick
    if not flushed:
        execute(step(FLUSH))
    return count
