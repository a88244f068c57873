"""The errors a pyxos client raises: the common tree of `pyxos.errors`, and the lease errors.

`PyxosError`, `BadRequest`, `TooLarge`, `Unavailable`, `Timeout`, `NoQuorum`, `CasMismatch`,
`VersionConflict`, `QueueEmpty` and `ProtocolError` are `pyxos.errors`' classes, re-exported
here (the path they had first): `except pyxos.Timeout` catches the client's timeouts too.

The lease errors carry the lock's grant as the cluster saw it (`lease`, a `LeaseInfo`), and
say it in plain words: who holds the lock, with which token, and until when on this machine's
clock. Each means nothing was changed:

- `LockHeld` (and `LockWaitTimeout`): another owner holds the lock.
- `HeldByYou`: the owner already holds it: refresh it instead.
- `NotHolder`: the owner and token are not the current grant: the lease is lost.
- `StaleToken`: a fenced write's token is not the current unexpired grant; nothing written.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pyxos.errors import (
    BadRequest,
    CasMismatch,
    NoQuorum,
    ProtocolError,
    PyxosError,
    QueueEmpty,
    Timeout,
    TooLarge,
    Unavailable,
    UnsupportedByProtocol,
    VersionConflict,
    error_for,
)

if TYPE_CHECKING:
    from pyxos.client.coordination import LeaseInfo

__all__ = [
    "BadRequest",
    "CasMismatch",
    "HeldByYou",
    "LockHeld",
    "LockWaitTimeout",
    "NoQuorum",
    "NotHolder",
    "ProtocolError",
    "PyxosError",
    "QueueEmpty",
    "StaleToken",
    "Timeout",
    "TooLarge",
    "Unavailable",
    "UnsupportedByProtocol",
    "VersionConflict",
    "describe_grant",
    "error_for",
    "expiry_text",
]


def _duration(ms: int) -> str:
    """`"850 ms"`, `"9.8 s"`, `"4 min 10 s"`, `"3 h 20 min"`."""
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    seconds = ms // 1000
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def expiry_text(remaining_ms: int, now_s: float | None = None) -> str:
    """When a lease with `remaining_ms` left ends, for a person: `"in 9.8 s, at 14:03:27"`
    on this machine's clock (with the date when it is not today)."""
    now = time.time() if now_s is None else now_s
    end = time.localtime(now + remaining_ms / 1000)
    same_day = end[:3] == time.localtime(now)[:3]
    at = time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S", end)
    return f"in {_duration(remaining_ms)}, at {at}"


def describe_grant(lease: LeaseInfo) -> str:
    """The lock's grant in words: `"held by 'alice' with token 3 (it expires in 9.8 s, at
    14:03:27)"`, or `"free"`."""
    if lease.holder is None:
        return "free"
    text = f"held by {lease.holder!r}"
    if lease.token is not None:
        text += f" with token {lease.token}"
    if lease.remaining_ms is not None:
        text += f" (it expires {expiry_text(lease.remaining_ms)})"
    return text


class _LeaseError(PyxosError):
    """A lock operation refused; `lease` is the lock's grant as the cluster saw it."""

    def __init__(self, message: str, lease: LeaseInfo) -> None:
        super().__init__(message)
        self.lease = lease


class LockHeld(_LeaseError):  # noqa: N818
    """Another owner holds the lock (`lease.holder`); nothing changed."""

    code = "lock_held"

    def __init__(self, lease: LeaseInfo) -> None:
        super().__init__(f"lock {lease.lock!r} is {describe_grant(lease)}", lease)


class LockWaitTimeout(LockHeld):
    """A lease wait ended without the grant; the wait was cancelled."""

    code = "lock_wait_timeout"

    def __init__(self, lease: LeaseInfo) -> None:
        _LeaseError.__init__(
            self,
            f"gave up waiting for lock {lease.lock!r} (the wait is cancelled): it is "
            f"{describe_grant(lease)}",
            lease,
        )


class HeldByYou(_LeaseError):  # noqa: N818
    """The owner already holds the lock: refresh it instead."""

    code = "held_by_you"

    def __init__(self, lease: LeaseInfo) -> None:
        super().__init__(
            f"lock {lease.lock!r} is already {describe_grant(lease)}: refresh it instead", lease
        )


class NotHolder(_LeaseError):  # noqa: N818
    """The owner and token are not the lock's current grant: the lease is lost (it expired,
    or was released)."""

    code = "not_holder"

    def __init__(self, lease: LeaseInfo) -> None:
        super().__init__(
            f"not the holder of lock {lease.lock!r} (never held, or the lease expired or was "
            f"released): it is {describe_grant(lease)}",
            lease,
        )


class StaleToken(_LeaseError):  # noqa: N818
    """A fenced write's token is not the lock's current unexpired grant; nothing was written."""

    code = "stale_token"

    def __init__(self, lease: LeaseInfo) -> None:
        super().__init__(
            f"lock {lease.lock!r} is {describe_grant(lease)}; nothing was written", lease
        )
