"""Pacing: operation i of a throttled run is due at `start + i / rate`.

The schedule is arithmetic on an injected start time, so that it never drifts: a worker that
fell behind finds its next slot already due and goes at once, and the run catches up. The only
clock read (an injected one) is in `wait`, the asyncio edge.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Pacer:
    """Hands out the due times of successive operations at `rate_per_s`."""

    def __init__(
        self,
        rate_per_s: float,
        start_ns: int,
        *,
        clock: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self._clock = clock
        self._period_ns = 1e9 / rate_per_s
        self._start_ns = start_ns
        self._issued = 0

    def next_ns(self) -> int:
        """The due time of the next operation (each call is one more operation)."""
        due = self._start_ns + round(self._issued * self._period_ns)
        self._issued += 1
        return due

    async def wait(self) -> int:
        """Sleep until the next operation is due; its due time."""
        due = self.next_ns()
        delay_ns = due - self._clock()
        if delay_ns > 0:
            await asyncio.sleep(delay_ns / 1e9)
        return due
