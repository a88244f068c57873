"""The virtual clock and its event queue.

Events are tuples `(time_us, seq, kind, target, payload)` in a binary heap. `seq` increases with
every push, so events due at the same time run in the order they were scheduled: the order never
depends on comparing payloads, and a run is a pure function of its seed. Kinds are small ints
(below) so that dispatch is one comparison chain in the runner's loop.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

# Event kinds. `target` is a node id or a client address; `payload` depends on the kind.
TICK = 0  # payload: the node's incarnation
DELIVER = 1  # payload: the node input (Receive or FromClient)
SYNC = 2  # payload: (incarnation, sync id, the write round)
TO_CLIENT = 3  # payload: a client message (ClientReply or ReadReply)
CLIENT_TIMEOUT = 4  # payload: (op number, attempt)
CLIENT_NEXT = 5  # payload: None; the client's think time is over
FAULT = 6  # payload: a planned fault action
CONTROL = 7  # payload: a phase change or the periodic convergence check
TURN = 8  # payload: the node's incarnation; it steps the inputs in its inbox

Event = tuple[int, int, int, int, Any]


class EventQueue:
    """A min-heap of events ordered by `(time_us, seq)`; `now_us` is the virtual clock."""

    __slots__ = ("_heap", "_seq", "now_us", "popped")

    def __init__(self) -> None:
        self._heap: list[Event] = []
        self._seq = 0
        self.now_us = 0
        self.popped = 0

    def push(self, time_us: int, kind: int, target: int, payload: Any) -> None:
        """Schedule an event; `time_us` must not be in the past."""
        if time_us < self.now_us:
            raise ValueError(f"event at {time_us}us is before now ({self.now_us}us)")
        self._seq += 1
        heappush(self._heap, (time_us, self._seq, kind, target, payload))

    def after(self, delay_us: int, kind: int, target: int, payload: Any) -> None:
        """Schedule an event `delay_us` from now."""
        self.push(self.now_us + delay_us, kind, target, payload)

    def pop(self) -> Event:
        """Remove the earliest event and advance the clock to it."""
        event = heappop(self._heap)
        self.now_us = event[0]
        self.popped += 1
        return event

    def peek_time_us(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
