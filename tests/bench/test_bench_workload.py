"""The workload against an in-memory store: what it issues, what it records, and that the
history it records is what the checker needs (a correct store passes, a stale one fails)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import msgspec
import pytest

from pyxos.bench.options import BenchOptions
from pyxos.bench.run import run_bench, run_sync
from pyxos.bench.transport import OpFailed
from pyxos.bench.workload import Workload
from pyxos.check import check_history


class MemoryStore:
    """A linearizable store: each call takes effect at once, between two event-loop turns."""

    def __init__(self, *, fail_every: int = 0, stale: bool = False) -> None:
        self.data: dict[str, bytes] = {}
        self.first: dict[str, bytes] = {}
        self.calls = 0
        self.workers: set[int] = set()
        self._fail_every = fail_every
        self._stale = stale

    async def put(self, worker: int, key: str, value: bytes) -> bytes | None:
        await asyncio.sleep(0)
        self._count(worker)
        previous = self.data.get(key)
        self.data[key] = value
        self.first.setdefault(key, value)
        await asyncio.sleep(0)
        return previous

    async def get(self, worker: int, key: str) -> bytes | None:
        await asyncio.sleep(0)
        self._count(worker)
        # A stale store answers with the first value the key ever had.
        return self.first.get(key) if self._stale else self.data.get(key)

    def _count(self, worker: int) -> None:
        self.calls += 1
        self.workers.add(worker)
        if self._fail_every and self.calls % self._fail_every == 0:
            raise OpFailed("timeout", "the fake loses this one")

    async def aclose(self) -> None:
        pass


def run(options: BenchOptions, store: MemoryStore, *, load: bool = False) -> Workload:
    async def go() -> Workload:
        workload = Workload(options, store)
        if load:
            await workload.load()
        await workload.run()
        return workload

    return asyncio.run(go())


OPTIONS = BenchOptions(duration_s=0, operations=400, keys=20, concurrency=4, key_prefix="t-")


def test_closed_loop_does_n_operations_and_records_each() -> None:
    store = MemoryStore()
    workload = run(OPTIONS, store)
    assert workload.issued == 400 == workload.finished == workload.ok_measured
    assert store.workers == {0, 1, 2, 3}
    ops = workload.history.operations()
    assert len(ops) == 400
    assert {op.kind for op in ops} == {"get", "put"}
    assert all(op.key.startswith("t-") and op.complete is not None for op in ops)
    assert workload.latency["get"].count + workload.latency["put"].count == 400
    assert check_history(ops).ok


def test_written_values_are_unique_and_of_the_asked_size() -> None:
    workload = run(msgspec.structs.replace(OPTIONS, write_ratio=1.0, value_bytes=40), MemoryStore())
    values = [op.value for op in workload.history.operations()]
    assert len(set(values)) == len(values) == 400
    assert all(v is not None and len(v) == 40 for v in values)


def test_failures_are_unknown_outcomes_under_a_new_client_and_counted() -> None:
    workload = run(OPTIONS, MemoryStore(fail_every=7))
    ops = workload.history.operations()
    unknown = [op for op in ops if op.complete is None]
    assert len(unknown) == 400 // 7 == workload.errors["timeout"]
    assert workload.ok_measured == 400 - len(unknown)
    # After a lost outcome the worker carries on as another client: nothing follows it.
    for lost in unknown:
        assert not [op for op in ops if op.client == lost.client and op.invoke > lost.invoke]
    assert check_history(ops).ok


def test_a_stale_store_fails_the_check() -> None:
    options = msgspec.structs.replace(OPTIONS, keys=3, write_ratio=0.5, concurrency=2)
    workload = run(options, MemoryStore(stale=True))
    assert not check_history(workload.history.operations()).ok


def test_load_writes_every_key_once_before_the_run_and_out_of_the_figures() -> None:
    options = msgspec.structs.replace(OPTIONS, write_ratio=0.0, operations=50)
    store = MemoryStore()
    workload = run(options, store, load=True)
    ops = workload.history.operations()
    loaded = [op for op in ops if op.kind == "put"]
    assert sorted(op.key for op in loaded) == sorted(f"t-{k}" for k in range(20))
    assert workload.load_ops == 20
    assert workload.latency["put"].count == 0 and workload.latency["get"].count == 50
    assert all(op.output is not None for op in ops if op.kind == "get")
    assert check_history(ops).ok


def test_duration_stops_the_run() -> None:
    options = msgspec.structs.replace(OPTIONS, duration_s=0.2, operations=0)
    workload = run(options, MemoryStore())
    assert workload.issued > 0
    assert 0.2 <= workload.elapsed_s() < 2.0


def test_warmup_operations_are_in_the_history_but_not_the_figures() -> None:
    options = msgspec.structs.replace(OPTIONS, duration_s=0.3, operations=0, warmup_s=0.15)
    workload = run(options, MemoryStore())
    measured = workload.latency["get"].count + workload.latency["put"].count
    assert 0 < measured < len(workload.history) == workload.issued
    assert 0.1 < workload.measured_s < 1.0


def test_open_loop_issues_at_the_rate_with_bounded_concurrency() -> None:
    options = msgspec.structs.replace(
        OPTIONS, open_loop=True, throttle=2000.0, operations=100, concurrency=8
    )
    store = MemoryStore()
    workload = run(options, store)
    assert workload.issued == 100 == len(workload.history)
    assert workload.elapsed_s() >= 99 / 2000
    # Each open-loop operation is its own client: none of a client's operations overlap.
    assert len({op.client for op in workload.history.operations()}) == 100
    assert check_history(workload.history.operations()).ok


def test_throttle_paces_a_closed_loop() -> None:
    options = msgspec.structs.replace(OPTIONS, throttle=1000.0, operations=100)
    workload = run(options, MemoryStore())
    assert workload.elapsed_s() >= 99 / 1000


def test_a_cluster_that_does_not_answer_is_not_measured(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once it is closed
    options = msgspec.structs.replace(OPTIONS, timeout_s=1.0)
    with pytest.raises(RuntimeError, match="does not answer"):
        run_sync(run_bench(options, [f"127.0.0.1:{port}"], out_dir=tmp_path / "out"))
    assert not (tmp_path / "out").exists()
