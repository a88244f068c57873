"""The `LogStore` contract, checked on both implementations, and the memory twin's crashes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from random import Random

import pytest

from conftest import MakeRecords
from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.records import AcceptedValue, Promised, covers
from pyxos.storage.errors import StorageFailed, StoreStateError
from pyxos.storage.logstore import LogStore, MemoryLogStore, Snapshot
from pyxos.storage.wal import WriteAheadLog

Reopen = Callable[[], LogStore]


@pytest.fixture(params=["memory", "wal"])
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Reopen:
    """A function that returns the store as a restarted node would find it."""
    if request.param == "memory":
        memory = MemoryLogStore()
        return lambda: memory
    return lambda: WriteAheadLog(tmp_path / "wal", segment_bytes_max=512)


def test_synced_records_survive_a_restart(reopen: Reopen, make_records: MakeRecords) -> None:
    records = make_records(Random(1), 200)
    store = reopen()
    assert store.load().records == ()
    store.append(records[:150])
    store.sync()
    store.append(records[150:])
    store.sync()
    store.close()
    store = reopen()
    assert list(store.load().records) == records
    store.close()


def test_a_snapshot_keeps_every_record_it_does_not_cover(
    reopen: Reopen, make_records: MakeRecords
) -> None:
    records = make_records(Random(2), 300)
    store = reopen()
    store.load()
    store.append(records)
    snapshot = Snapshot(slot=60, promised=Ballot(3, 0), state=b"m" + b"s")
    store.install_snapshot(snapshot)
    store.close()
    store = reopen()
    loaded = store.load()
    assert loaded.snapshot == snapshot
    kept = list(loaded.records)
    assert kept == records[len(records) - len(kept) :]  # a suffix of what was written
    assert len(kept) < len(records)  # something was deleted
    dropped = records[: len(records) - len(kept)]
    assert all(covers(snapshot, r) for r in dropped)
    with pytest.raises(ValueError):
        store.install_snapshot(Snapshot(slot=59, promised=Ballot(3, 0), state=b""))
    store.close()


def test_covers() -> None:
    snapshot = Snapshot(slot=10, promised=Ballot(2, 1), state=b"")
    assert covers(snapshot, Promised(ballot=Ballot(2, 1)))
    assert not covers(snapshot, Promised(ballot=Ballot(2, 2)))
    assert covers(snapshot, AcceptedValue(slot=10, ballot=Ballot(9, 9), batch=()))
    assert not covers(snapshot, AcceptedValue(slot=11, ballot=Ballot(1, 1), batch=()))


def test_memory_crash_loses_exactly_the_unsynced_suffix(make_records: MakeRecords) -> None:
    records = make_records(Random(3), 20)
    store = MemoryLogStore()
    store.load()
    store.append(records[:10])
    store.sync()
    store.append(records[10:])
    assert store.durable == tuple(records[:10])
    assert store.crash() == 10
    assert list(store.load().records) == records[:10]


def test_memory_sync_failure_is_fail_stop(make_records: MakeRecords) -> None:
    store = MemoryLogStore()
    store.load()
    store.fail_next_sync()
    store.append(make_records(Random(4), 3))
    with pytest.raises(StorageFailed):
        store.sync()
    with pytest.raises(StorageFailed):
        store.append([])
    store.crash()
    assert store.load().records == ()


def test_memory_refuses_calls_before_load() -> None:
    with pytest.raises(StoreStateError):
        MemoryLogStore().sync()
