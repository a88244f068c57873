"""The workload: a load phase, then closed- or open-loop operations, every one recorded.

Theory of operation. A closed loop runs `concurrency` workers; each issues its next operation
when the previous one has answered (optionally paced by a shared `Pacer`, Paxi's throttle), so
the offered load adapts to the cluster. An open loop issues operations at the `throttle` rate
whatever the answers, with at most `concurrency` in flight; its latencies are measured from
each operation's due time rather than from when it could be sent, so that a cluster that falls
behind shows it in the figures instead of hiding it (coordinated omission).

Each operation is a put (probability `write_ratio`) or a read of a key from the worker's
`KeyChooser`; each worker draws from its own seeded stream. Every written value is unique (a
run-wide counter, padded to `value_bytes`), which keeps the linearizability check cheap. Every
operation, in the load phase too, goes into the `HistoryLog`; those invoked after the warm-up
also go into the latency histograms and the timeline.

The run stops issuing at `duration_s` or after `operations` operations, whichever comes first,
and ends when the operations in flight have answered (or timed out).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable

from pyxos.bench.history import HistoryLog
from pyxos.bench.keys import key_choosers, worker_random
from pyxos.bench.latency import Histogram, Timeline
from pyxos.bench.options import BenchOptions
from pyxos.bench.throttle import Pacer
from pyxos.bench.transport import OpFailed, Transport
from pyxos.check.history import OpKind

Clock = Callable[[], int]
"""Monotonic nanoseconds."""

TIMELINE_POINTS = 100
TIMELINE_INTERVAL_S_MIN = 0.1


class Workload:
    """One benchmark run against `transport`; read its figures after `run()` returns."""

    def __init__(
        self, options: BenchOptions, transport: Transport, *, clock: Clock = time.perf_counter_ns
    ) -> None:
        self.options = options.validate()
        self._transport = transport
        self._clock = clock
        self._base_ns = clock()
        self._rngs = [worker_random(options.seed, w) for w in range(options.concurrency)]
        self._choosers = key_choosers(options, self._rngs)
        self._values = itertools.count(1)
        self._pad = "x" * options.value_bytes
        interval = max(TIMELINE_INTERVAL_S_MIN, options.duration_s / TIMELINE_POINTS)
        self.history = HistoryLog()
        self.latency: dict[OpKind, Histogram] = {"get": Histogram(), "put": Histogram()}
        self.timeline = Timeline(interval)
        self.errors: Counter[str] = Counter()
        self.load_errors: Counter[str] = Counter()
        self.load_ops = 0
        self.load_s = 0.0
        self.issued = 0
        self.finished = 0
        self.ok_measured = 0
        self._start_ns = 0
        self._warm_ns = 0
        self._deadline_ns: int | None = None
        self._end_ns = 0

    # ---- what the report reads ------------------------------------------------------------
    def elapsed_s(self) -> float:
        """Seconds since the measured run started (0 before it does)."""
        if not self._start_ns:
            return 0.0
        return ((self._end_ns or self._clock()) - self._start_ns) / 1e9

    @property
    def measured_s(self) -> float:
        """The measured window: from the end of the warm-up to the last answer."""
        return max(0.0, (self._end_ns - self._warm_ns) / 1e9) if self._end_ns else 0.0

    # ---- phases ---------------------------------------------------------------------------
    async def load(self) -> None:
        """Write every key once, the keys split over the workers."""
        workers = self.options.concurrency
        started = self._clock()

        async def loader(w: int) -> None:
            client = self.history.new_client()
            for k in range(w, self.options.keys, workers):
                if not await self._one(w, client, "put", k, due_ns=None, measured=False):
                    client = self.history.new_client()

        await asyncio.gather(*(loader(w) for w in range(workers)))
        self.load_ops = self.options.keys
        self.load_s = (self._clock() - started) / 1e9

    async def run(self) -> None:
        options = self.options
        self._start_ns = self._clock()
        self._warm_ns = self._start_ns + round(options.warmup_s * 1e9)
        if options.duration_s > 0:
            self._deadline_ns = self._start_ns + round(options.duration_s * 1e9)
        pacer = (
            Pacer(options.throttle, self._start_ns, clock=self._clock)
            if options.throttle > 0
            else None
        )
        if options.open_loop:
            assert pacer is not None  # validated: an open loop has a rate
            await self._open_loop(pacer)
        else:
            await asyncio.gather(*(self._worker(w, pacer) for w in range(options.concurrency)))
        self._end_ns = self._clock()

    # ---- loops ----------------------------------------------------------------------------
    def _take(self) -> bool:
        """Whether another operation may start now; counts it if so."""
        if self.options.operations and self.issued >= self.options.operations:
            return False
        if self._deadline_ns is not None and self._clock() >= self._deadline_ns:
            return False
        self.issued += 1
        return True

    def _choose(self, w: int) -> tuple[OpKind, int]:
        elapsed_ms = (self._clock() - self._start_ns) // 1_000_000
        key = self._choosers[w].next(elapsed_ms)
        kind: OpKind = "put" if self._rngs[w].random() < self.options.write_ratio else "get"
        return kind, key

    async def _worker(self, w: int, pacer: Pacer | None) -> None:
        client = self.history.new_client()
        while True:
            if pacer is not None:
                await pacer.wait()
            if not self._take():
                return
            kind, key = self._choose(w)
            if not await self._one(w, client, kind, key, due_ns=None, measured=True):
                client = self.history.new_client()  # the lost operation may still happen

    async def _open_loop(self, pacer: Pacer) -> None:
        in_flight = asyncio.Semaphore(self.options.concurrency)
        tasks: set[asyncio.Task[bool]] = set()

        async def issue(w: int, kind: OpKind, key: int, due_ns: int) -> bool:
            try:
                return await self._one(
                    w, self.history.new_client(), kind, key, due_ns=due_ns, measured=True
                )
            finally:
                in_flight.release()

        for i in itertools.count():
            due_ns = await pacer.wait()
            if not self._take():
                break
            kind, key = self._choose(0)
            await in_flight.acquire()  # when full, the run falls behind its schedule
            task = asyncio.create_task(issue(i % self.options.concurrency, kind, key, due_ns))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)

    # ---- one operation --------------------------------------------------------------------
    async def _one(
        self, w: int, client: int, kind: OpKind, k: int, *, due_ns: int | None, measured: bool
    ) -> bool:
        """Run one operation and record it; False if its outcome is unknown."""
        key = f"{self.options.key_prefix}{k}"
        value: str | None = None
        invoke = self._clock()
        try:
            if kind == "put":
                tag = f"{next(self._values)}."
                value = tag + self._pad[len(tag) :]
                answer = await self._transport.put(w, key, value.encode())
            else:
                answer = await self._transport.get(w, key)
        except OpFailed as exc:
            self.history.unknown(client, kind, key, value=value, invoke_ns=invoke - self._base_ns)
            (self.errors if measured else self.load_errors)[exc.code] += 1
            self.finished += measured
            return False
        complete = self._clock()
        output = None if answer is None else answer.decode("utf-8", "backslashreplace")
        self.history.completed(
            client,
            kind,
            key,
            value=value,
            invoke_ns=invoke - self._base_ns,
            complete_ns=complete - self._base_ns,
            output=output,
        )
        if measured:
            self.finished += 1
            if invoke >= self._warm_ns:
                # From the due time when the open loop fell behind it (the timer may also
                # wake a little early: then from the send).
                start = invoke if due_ns is None else min(due_ns, invoke)
                latency_us = (complete - start) // 1000
                self.latency[kind].record_us(latency_us)
                self.timeline.record_us((complete - self._warm_ns) / 1e9, latency_us)
                self.ok_measured += 1
        return True
