"""The `Persist` barrier: a node's effects waiting for the disk, in order.

Records get consecutive positions as they are appended (1, 2, 3, ...). A barrier `Persist`
puts a marker carrying the position of its last record into the gate; every later `Send` or
`Reply` of the node queues behind it, even those of later steps, while the node itself keeps
stepping (its memory runs ahead of what it has said). When a write round makes the log durable
up to some position, every marker at or below it is passed and the effects up to the next
unpassed marker are released, in order. One round may pass many markers: that is group commit
seen from the gate.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

E = TypeVar("E")


def passed(marker: int, durable: int) -> bool:
    """A marker is passed once the log is durable up to its position. (A module-level rule so
    that a test can plant a broken one and prove the simulator notices.)"""
    return marker <= durable


class EffectGate(Generic[E]):
    """Effects of one node waiting behind unfinished writes."""

    __slots__ = ("_queue",)

    def __init__(self) -> None:
        # Effects, and markers: an `int` is the record position that must be durable first.
        self._queue: deque[E | int] = deque()

    def offer(self, effect: E) -> bool:
        """True if `effect` may run now; otherwise it is queued behind the pending markers."""
        if not self._queue:
            return True
        self._queue.append(effect)
        return False

    def barrier(self, position: int) -> None:
        """Later effects wait until the log is durable up to record `position`."""
        self._queue.append(position)

    def release(self, durable: int) -> list[E]:
        """The log is durable up to record `durable`: the effects now free to run, in order."""
        queue = self._queue
        ready: list[E] = []
        while queue:
            head = queue[0]
            if isinstance(head, int):
                if not passed(head, durable):
                    break
                queue.popleft()
            else:
                ready.append(queue.popleft())  # type: ignore[arg-type]
        return ready

    def clear(self) -> int:
        """Drop everything (the node stops or crashes). Returns the number of effects dropped."""
        dropped = sum(1 for item in self._queue if not isinstance(item, int))
        self._queue.clear()
        return dropped

    def __len__(self) -> int:
        return len(self._queue)
