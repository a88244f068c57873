"""The few system calls that make data durable, each guarded by the `fsync_error` failpoint.

Every function raises `OSError` on failure; the callers turn that into `StorageFailed`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from pyxos.storage import failpoints


def _check_failpoint() -> None:
    if failpoints.should_fire(failpoints.FSYNC_ERROR):
        raise OSError(errno.EIO, "fsync failed (failpoint fsync_error)")


def fdatasync(fd: int) -> None:
    """Sync a file's data and the metadata needed to read it back (its size), not its mtime."""
    _check_failpoint()
    os.fdatasync(fd)


def fsync(fd: int) -> None:
    _check_failpoint()
    os.fsync(fd)


def fsync_directory(directory: Path) -> None:
    """Make the directory's entries durable: a created, renamed or deleted name survives."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """`os.write` until every byte is written (a write may be short, e.g. on a full disk)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def make_directory(directory: Path) -> None:
    """Create `directory` (and parents) if missing, and make its name durable in its parent."""
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True)
    fsync_directory(directory.parent)
