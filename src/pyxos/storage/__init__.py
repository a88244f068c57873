"""Durable storage: the `LogStore` interface, its in-memory twin, the write-ahead log on disk,
snapshot files. (Group commit, which decides what each write round holds, is the effect
executor's: `pyxos.exec.writer`.) See docs/storage.md for the on-disk format and the
recovery rules.

This is an I/O layer (files, fsync, a writer thread); the protocol core never imports it.
"""

from __future__ import annotations

from pyxos.core.snapshot import Snapshot
from pyxos.storage.errors import (
    EXIT_STORAGE_FAILED,
    CorruptLog,
    CorruptSnapshot,
    StorageError,
    StorageFailed,
    StoreStateError,
)
from pyxos.storage.logstore import LoadedLog, LogStore, MemoryLogStore
from pyxos.storage.wal import SEGMENT_BYTES_DEFAULT, WriteAheadLog, scan_directory

__all__ = [
    "EXIT_STORAGE_FAILED",
    "SEGMENT_BYTES_DEFAULT",
    "CorruptLog",
    "CorruptSnapshot",
    "LoadedLog",
    "LogStore",
    "MemoryLogStore",
    "Snapshot",
    "StorageError",
    "StorageFailed",
    "StoreStateError",
    "WriteAheadLog",
    "scan_directory",
]
