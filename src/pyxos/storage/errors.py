"""Storage errors, split by whose fault they are.

- `CorruptLog` / `CorruptSnapshot`: the bytes on disk are damaged (or were written by something
  else). The node must not start from them; it is rebuilt from its peers (docs/storage.md).
- `StorageFailed`: the disk refused a write or a sync. Fail-stop: the store refuses every later
  call and the process must exit. A failed fsync is never retried, because after a failure the
  kernel may have dropped the dirty pages and a retry can report success for data that is gone.
- `StoreStateError`: the caller used the store in a state that does not allow it (append before
  `load`, anything after `close`). Nothing changed.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error `pyxos.storage` raises on purpose."""


class CorruptLog(StorageError):  # noqa: N818 (the name the design uses)
    """Damage in the write-ahead log before its tail: a record followed by valid data is bad."""

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(f"corrupt log: {path} at byte offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


class CorruptSnapshot(StorageError):  # noqa: N818
    """The latest snapshot file cannot be read back (bad checksum, truncated, unknown version)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"corrupt snapshot: {path}: {reason}")
        self.path = path
        self.reason = reason


class StorageFailed(StorageError):  # noqa: N818
    """A write or sync failed: the store is dead and the process must stop (fail-stop)."""


class StoreStateError(StorageError):
    """Caller misuse: the store is not in a state that allows this call. Nothing changed."""
