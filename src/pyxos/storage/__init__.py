"""Durable storage: the `LogStore` interface, its in-memory twin, the write-ahead log on disk,
snapshot files and a group-commit writer. See docs/storage.md for the on-disk format and the
recovery rules.

This is an I/O layer (files, fsync, a writer thread); the protocol core never imports it.
"""

from __future__ import annotations

from pyxos.core.records import Snapshot, covers
from pyxos.storage.errors import (
    CorruptLog,
    CorruptSnapshot,
    StorageError,
    StorageFailed,
    StoreStateError,
)
from pyxos.storage.group_commit import (
    EXIT_STORAGE_FAILED,
    GroupCommitStats,
    GroupCommitWriter,
    fail_stop,
)
from pyxos.storage.logstore import LoadedLog, LogStore, MemoryLogStore
from pyxos.storage.wal import SEGMENT_BYTES_DEFAULT, WriteAheadLog, scan_directory

__all__ = [
    "EXIT_STORAGE_FAILED",
    "SEGMENT_BYTES_DEFAULT",
    "CorruptLog",
    "CorruptSnapshot",
    "GroupCommitStats",
    "GroupCommitWriter",
    "LoadedLog",
    "LogStore",
    "MemoryLogStore",
    "Snapshot",
    "StorageError",
    "StorageFailed",
    "StoreStateError",
    "WriteAheadLog",
    "covers",
    "fail_stop",
    "scan_directory",
]
