"""Write rounds on a real log store, one at a time, in a worker thread.

The executor (`pyxos.exec`) decides what goes in a round and when; this is the runtime's side of
its disk interface: `start(round_)` runs `write_round` on the store in a worker thread
(`asyncio.to_thread`, so the event loop never waits for an fsync), then reports the round done,
which lets the executor release what waited for it and hand over the next round. The store is
only ever touched by one thread at a time. A failure is final (fail-stop): `on_failure` is
called and no later round starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from pyxos.exec.writer import WriteRound
from pyxos.storage.logstore import LogStore, write_round


@dataclass(slots=True)
class DiskCounters:
    syncs: int = 0
    records_synced: int = 0
    snapshots_saved: int = 0


class DiskRounds:
    """Runs the executor's write rounds on `store`."""

    __slots__ = ("_done", "_on_failure", "_store", "_task", "counters", "failure")

    def __init__(
        self,
        store: LogStore,
        *,
        done: Callable[[WriteRound], None],
        on_failure: Callable[[BaseException], None],
    ) -> None:
        """`done(round_)` is called on the event loop once `round_` is durable; `on_failure`
        once, if the store fails."""
        self._store = store
        self._done = done
        self._on_failure = on_failure
        self._task: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None
        self.counters = DiskCounters()

    def start(self, round_: WriteRound) -> None:
        """Begin writing `round_` (the executor starts one only when none is in flight)."""
        if self.failure is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._write(round_))

    async def _write(self, round_: WriteRound) -> None:
        try:
            await asyncio.to_thread(write_round, self._store, list(round_.items))
        except Exception as exc:
            self.failure = exc
            self._on_failure(exc)
            return
        counters = self.counters
        counters.syncs += 1
        counters.records_synced += len(round_.records)
        counters.snapshots_saved += len(round_.snapshots)
        self._done(round_)

    async def drain(self) -> None:
        """Wait for the round in flight, if any (and for the ones it starts)."""
        while self._task is not None and not self._task.done():
            await asyncio.gather(self._task, return_exceptions=True)

    async def write_now(self, round_: WriteRound) -> None:
        """Write `round_` at once and wait (a clean stop's last round). Raises what the store
        raises."""
        await asyncio.to_thread(write_round, self._store, list(round_.items))
