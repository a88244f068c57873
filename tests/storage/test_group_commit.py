"""Group commit: coalescing, ordering, and fail-stop on a failed sync."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path

import pytest

from pyxos.core.ids import Ballot
from pyxos.core.records import Promised, Record
from pyxos.storage import failpoints
from pyxos.storage.errors import StorageFailed, StoreStateError
from pyxos.storage.group_commit import GroupCommitWriter
from pyxos.storage.logstore import LoadedLog, MemoryLogStore, Snapshot
from pyxos.storage.wal import WriteAheadLog

TIMEOUT_S = 10.0


def _promise(n: int) -> Promised:
    return Promised(ballot=Ballot(n, 1))


class GatedStore:
    """A store whose `sync` waits for the test to open the gate; it records every round."""

    def __init__(self, *, fail_on_round: int | None = None) -> None:
        self.rounds: list[list[Record]] = [[]]
        self.entered = threading.Semaphore(0)  # released each time a sync starts
        self.gate = threading.Semaphore(0)  # the test releases it to let one sync finish
        self.fail_on_round = fail_on_round
        self.closed = False

    def load(self) -> LoadedLog:
        return LoadedLog(records=(), snapshot=None)

    def append(self, records: Sequence[Record]) -> None:
        self.rounds[-1].extend(records)

    def sync(self) -> None:
        self.entered.release()
        assert self.gate.acquire(timeout=TIMEOUT_S)
        if self.fail_on_round == len(self.rounds):
            raise StorageFailed("injected")
        self.rounds.append([])

    def install_snapshot(self, snapshot: Snapshot) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True


def _wait(future: Future[None]) -> None:
    future.result(timeout=TIMEOUT_S)


def test_batches_that_arrive_during_a_sync_share_the_next_one() -> None:
    store = GatedStore()
    writer = GroupCommitWriter(store)
    first = writer.submit([_promise(1)])
    assert store.entered.acquire(timeout=TIMEOUT_S)  # round 1 is syncing
    later = [writer.submit([_promise(n), _promise(n)]) for n in range(2, 6)]
    assert not first.done()
    store.gate.release()
    _wait(first)
    assert store.entered.acquire(timeout=TIMEOUT_S)  # round 2 took all four batches
    assert not any(f.done() for f in later)
    store.gate.release()
    for future in later:
        _wait(future)
    assert store.rounds[:2] == [[_promise(1)], [_promise(n) for n in range(2, 6) for _ in "ab"]]
    stats = writer.stats()
    assert (stats.syncs, stats.batches, stats.records) == (2, 5, 9)
    writer.close()
    assert store.closed


def test_a_failed_sync_fails_every_pending_and_later_submit() -> None:
    store = GatedStore(fail_on_round=2)
    failures: list[StorageFailed] = []
    writer = GroupCommitWriter(store, on_failure=failures.append)
    ok = writer.submit([_promise(1)])
    assert store.entered.acquire(timeout=TIMEOUT_S)
    doomed = writer.submit([_promise(2)])
    store.gate.release()
    _wait(ok)
    assert store.entered.acquire(timeout=TIMEOUT_S)  # round 2 (which fails) is syncing
    queued = writer.submit([_promise(3)])
    store.gate.release()
    for future in (doomed, queued):
        with pytest.raises(StorageFailed):
            future.result(timeout=TIMEOUT_S)
    with pytest.raises(StorageFailed):
        writer.submit([_promise(4)])
    assert len(failures) == 1 and writer.failure is failures[0]
    writer.close()


def test_close_writes_what_is_queued_then_refuses() -> None:
    store = MemoryLogStore()
    store.load()
    writer = GroupCommitWriter(store)
    futures = [writer.submit([_promise(n)]) for n in range(50)]
    writer.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert store.durable == tuple(_promise(n) for n in range(50))
    with pytest.raises(StoreStateError):
        writer.submit([_promise(99)])


def test_submit_refuses_what_is_not_a_record() -> None:
    store = MemoryLogStore()
    store.load()
    writer = GroupCommitWriter(store)
    with pytest.raises(TypeError):
        writer.submit(["nope"])  # type: ignore[list-item]
    _wait(writer.submit([_promise(1)]))  # the store is still fine
    writer.close()


def test_many_threads_on_the_real_log(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.load()
    writer = GroupCommitWriter(wal, queued_records_max=64)
    per_thread = 50

    def submitter(node: int) -> None:
        for n in range(per_thread):
            _wait(writer.submit([Promised(ballot=Ballot(n, node))]))

    threads = [threading.Thread(target=submitter, args=(node,)) for node in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_S * 6)
        assert not thread.is_alive()
    stats = writer.stats()
    writer.close()
    assert stats.records == 8 * per_thread and stats.syncs <= stats.batches
    wal = WriteAheadLog(tmp_path)
    records = wal.load().records
    wal.close()
    for node in range(8):  # each submitter's records are in its order
        mine = [
            r.ballot.round for r in records if isinstance(r, Promised) and r.ballot.node == node
        ]
        assert mine == list(range(per_thread))


def test_snapshots_go_through_the_writer_in_order(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes_max=256)
    wal.load()
    writer = GroupCommitWriter(wal)
    writer.submit([_promise(n) for n in range(1, 40)])
    snap = Snapshot(slot=0, promised=Ballot(39, 1), state=b"")
    _wait(writer.install_snapshot(snap))
    _wait(writer.submit([_promise(40)]))
    writer.close()
    wal = WriteAheadLog(tmp_path, segment_bytes_max=256)
    loaded = wal.load()
    wal.close()
    assert loaded.snapshot == snap and loaded.records[-1] == _promise(40)


def test_the_fsync_failpoint_on_the_real_log_acknowledges_nothing_after(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.load()
    failures: list[StorageFailed] = []
    writer = GroupCommitWriter(wal, on_failure=failures.append)
    failpoints.enable(failpoints.FSYNC_ERROR, after=3)
    results: list[bool] = []
    for n in range(20):
        try:
            future = writer.submit([_promise(n)])
        except StorageFailed:
            results.append(False)
            continue
        try:
            future.result(timeout=TIMEOUT_S)
            results.append(True)
        except StorageFailed:
            results.append(False)
    assert results == [True] * 3 + [False] * 17
    assert len(failures) == 1
    writer.close()
