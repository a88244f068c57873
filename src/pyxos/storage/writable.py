"""Can this process write a node's data directory? Asked before the node touches it.

A node whose data directory it may not write (a wrong owner or mode, a file system mounted
read-only) would otherwise fail wherever its first write lands, with an error that looks like
damage, and an operator could set a healthy log aside to "repair" it. `check_writable` tells
that case apart first, by trying what the node will do: create and remove a file in every
directory, and open every file for appending (which changes nothing in it).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from pyxos.storage.errors import StorageError


class NotWritable(StorageError):  # noqa: N818 (beside CorruptLog and StorageFailed)
    """The data directory, or something in it, cannot be written by this process: its owner
    or permissions, or a file system mounted read-only. Nothing on disk is damaged: the node
    must be given access, not rebuilt."""

    def __init__(self, directory: str, path: str, reason: str) -> None:
        super().__init__(
            f"the data directory {directory} is not writable by this process "
            f"(uid {os.geteuid()}): {path}: {reason}; nothing in it was changed"
        )
        self.directory = directory
        self.path = path
        self.reason = reason


NOT_WRITABLE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
"""The errors of a write this process may not make, as opposed to one that failed."""
PROBE_NAME = ".pyxos-write-probe"


def check_writable(data_dir: Path) -> None:
    """Raise `NotWritable` naming the first directory or file under `data_dir` this process may
    not write (or reach); if `data_dir` does not exist yet, its nearest existing parent must let
    it be created. Other errors are left to the node's own writes to report."""
    doing = ""
    try:
        existing = data_dir
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if existing != data_dir:
            doing = f"cannot create {data_dir.name} here: "
            _probe_directory(existing)
            return
        for root, _, files in os.walk(data_dir, onerror=_raise):
            _probe_directory(Path(root))
            for name in files:
                _probe_file(Path(root) / name)
    except OSError as exc:
        if is_not_writable(exc):
            reason = doing + (exc.strerror or str(exc))
            raise NotWritable(str(data_dir), str(exc.filename or data_dir), reason) from exc


def is_not_writable(exc: OSError) -> bool:
    return exc.errno in NOT_WRITABLE_ERRNOS


def _raise(exc: OSError) -> None:
    raise exc


def _probe_directory(directory: Path) -> None:
    probe = directory / f"{PROBE_NAME}-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        exc.filename = str(directory)  # name the directory, not the probe
        raise
    os.close(fd)
    os.unlink(probe)


def _probe_file(path: Path) -> None:
    if path.is_file():
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
