"""The `Persist` barrier: a per-node FIFO of effects waiting for syncs.

A node's effects run in list order. A barrier `Persist` starts a sync, and every later output of
that node (in this list and in the lists its later steps return) waits until that sync is done;
the node itself keeps stepping, its in-memory state running ahead of its outputs. `EffectGate`
holds the waiting effects and the sync markers between them: effects are released, in order, up
to the next marker each time the oldest sync completes.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

E = TypeVar("E")


class EffectGate(Generic[E]):
    """Effects of one node waiting behind unfinished syncs."""

    __slots__ = ("_queue",)

    def __init__(self) -> None:
        # Elements are effects or `_Marker`s; a marker names the sync that must finish first.
        self._queue: deque[E | _Marker] = deque()

    def offer(self, effect: E) -> bool:
        """True if `effect` may run now; otherwise it is queued behind the pending syncs."""
        if not self._queue:
            return True
        self._queue.append(effect)
        return False

    def barrier(self, sync_id: int) -> None:
        """Later effects wait until sync `sync_id` completes."""
        self._queue.append(_Marker(sync_id))

    def release(self, sync_id: int) -> list[E]:
        """Sync `sync_id` completed: the effects now free to run, in order."""
        queue = self._queue
        if not queue:
            return []
        head = queue[0]
        if not isinstance(head, _Marker) or head.sync_id != sync_id:
            # A sync with no barrier (or an earlier one) finished; nothing waits on it.
            return []
        queue.popleft()
        ready: list[E] = []
        while queue and not isinstance(queue[0], _Marker):
            ready.append(queue.popleft())  # type: ignore[arg-type]
        return ready

    def clear(self) -> int:
        """Drop everything (the node crashed). Returns the number of effects dropped."""
        dropped = sum(1 for item in self._queue if not isinstance(item, _Marker))
        self._queue.clear()
        return dropped

    def __len__(self) -> int:
        return len(self._queue)


class _Marker:
    __slots__ = ("sync_id",)

    def __init__(self, sync_id: int) -> None:
        self.sync_id = sync_id
