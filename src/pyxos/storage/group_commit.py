"""Group commit: one fsync covers every batch that arrived while the previous fsync ran.

Theory of operation. `GroupCommitWriter` owns a `LogStore` and one background thread. Callers
`submit(records)` from any thread and get a `concurrent.futures.Future` (an asyncio caller wraps
it with `asyncio.wrap_future`). The thread loops: take everything queued, `append` it in
submission order, `sync` once, then complete the futures of exactly those batches. While it
syncs, new batches queue up and are all taken by the next round, so under load one fsync serves
many batches and the fsync rate, not the batch rate, bounds throughput. A batch's future
completes only after the sync that covers it returned, so a caller that waits for it before
acting on the records honours the core's `Persist` barrier.

A failure is fatal (fail-stop). When `append`, `sync` or `install_snapshot` raises, the writer
refuses every later `submit` with `StorageFailed`, calls `on_failure` once (in the writer
thread), then fails every future of that round and every future queued, and stops. No future
completes successfully after a failure. The default `on_failure` only logs; a server passes
`fail_stop`, which ends the process: a node that cannot persist must not go on talking to its
peers.

The queue is bounded (`queued_records_max`): `submit` blocks while it is full, so a slow disk
pushes back on producers instead of growing memory.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from pyxos.core.records import Record
from pyxos.storage.errors import StorageFailed, StoreStateError
from pyxos.storage.logstore import LogStore, Snapshot
from pyxos.wire.log_frames import RECORD_TYPES

log = logging.getLogger(__name__)

EXIT_STORAGE_FAILED = 74
"""Process exit status after a storage failure (EX_IOERR from sysexits.h)."""


def fail_stop(exc: StorageFailed) -> None:
    """An `on_failure` hook that ends the process at once with `EXIT_STORAGE_FAILED`.

    `os._exit` rather than `sys.exit`: it must not run cleanup that could write or answer.
    """
    log.critical("storage failed, the process stops: %s", exc)
    logging.shutdown()
    os._exit(EXIT_STORAGE_FAILED)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupCommitStats:
    """Counters since start: how many syncs served how many batches and records."""

    syncs: int
    batches: int
    records: int

    @property
    def batches_per_sync(self) -> float:
        return self.batches / self.syncs if self.syncs else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class _Item:
    records: Sequence[Record]
    snapshot: Snapshot | None
    future: Future[None]


class GroupCommitWriter:
    """Owns `store` (already loaded) and writes to it from one background thread."""

    def __init__(
        self,
        store: LogStore,
        *,
        on_failure: Callable[[StorageFailed], None] | None = None,
        queued_records_max: int = 100_000,
        name: str = "pyxos-group-commit",
    ) -> None:
        if queued_records_max < 1:
            raise ValueError(f"queued_records_max must be positive, not {queued_records_max}")
        self._store = store
        self._on_failure = on_failure
        self._queued_records_max = queued_records_max
        self._cond = threading.Condition()
        self._queue: list[_Item] = []
        self._queued_records = 0
        self._failure: StorageFailed | None = None
        self._closing = False
        self._syncs = self._batches = self._records = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, records: Sequence[Record]) -> Future[None]:
        """Queue `records` for the next sync; the future completes when they are durable.

        Blocks while the queue is full. Raises `StorageFailed` once the store has failed,
        `StoreStateError` after `close`, `TypeError` for something that is not a record.
        """
        batch = tuple(records)
        for record in batch:
            # Checked here so that a caller's bug fails the caller, not the whole store.
            if not isinstance(record, RECORD_TYPES):
                raise TypeError(f"not a log record: {record!r}")
        return self._enqueue(_Item(records=batch, snapshot=None, future=Future()))

    def install_snapshot(self, snapshot: Snapshot) -> Future[None]:
        """Queue `store.install_snapshot(snapshot)` after every batch submitted before it."""
        return self._enqueue(_Item(records=(), snapshot=snapshot, future=Future()))

    def stats(self) -> GroupCommitStats:
        with self._cond:
            return GroupCommitStats(syncs=self._syncs, batches=self._batches, records=self._records)

    @property
    def failure(self) -> StorageFailed | None:
        return self._failure

    def close(self) -> None:
        """Write and sync what is queued, stop the thread, close the store. Idempotent."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        self._store.close()

    # ---- the writer thread ----------------------------------------------------------------
    def _enqueue(self, item: _Item) -> Future[None]:
        size = max(1, len(item.records))
        with self._cond:
            while True:
                if self._failure is not None:
                    raise StorageFailed(f"the log failed earlier: {self._failure}")
                if self._closing:
                    raise StoreStateError("submit() after close()")
                # An oversized batch is let into an empty queue rather than blocking forever.
                if not self._queue or self._queued_records + size <= self._queued_records_max:
                    break
                self._cond.wait()
            self._queue.append(item)
            self._queued_records += size
            self._cond.notify_all()
        return item.future

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return  # closing, and everything queued was written
                items, self._queue, self._queued_records = self._queue, [], 0
                self._cond.notify_all()  # room for blocked submitters
            # From here on a caller can no longer cancel these futures (the write is under way),
            # so completing them below cannot race with a cancel.
            for item in items:
                item.future.set_running_or_notify_cancel()
            try:
                self._write(items)
            except Exception as exc:
                self._fail(exc, items)
                return
            with self._cond:
                self._syncs += 1
                self._batches += sum(1 for item in items if item.snapshot is None)
                self._records += sum(len(item.records) for item in items)
            for item in items:
                if not item.future.cancelled():  # cancelled before the round took it
                    item.future.set_result(None)

    def _write(self, items: list[_Item]) -> None:
        for item in items:
            if item.snapshot is not None:
                self._store.install_snapshot(item.snapshot)
            elif item.records:
                self._store.append(item.records)
        self._store.sync()

    def _fail(self, exc: Exception, items: list[_Item]) -> None:
        # Anything but StorageFailed is a bug below us; the store's state is unknown, so it is
        # just as fatal.
        failure = exc if isinstance(exc, StorageFailed) else StorageFailed(f"writer crashed: {exc}")
        if failure is not exc:
            failure.__cause__ = exc
        with self._cond:
            self._failure = failure
            queued = self._queue
            for item in queued:
                item.future.set_running_or_notify_cancel()
            self._queue, self._queued_records = [], 0
            self._cond.notify_all()
        log.critical("group commit: storage failed, refusing all writes: %s", failure)
        # The hook runs before any caller hears of the failure: with `fail_stop` the process is
        # gone before anything could act on it.
        if self._on_failure is not None:
            try:
                self._on_failure(failure)
            except Exception:
                log.exception("group commit: the on_failure hook raised")
        for item in (*items, *queued):
            if not item.future.cancelled():
                item.future.set_exception(failure)
