"""The errors a pyxos client raises, one per stable error code of the service.

Whose fault, and what is known about the outcome:

- `BadRequest` (and `TooLarge`): the request itself is wrong; nothing was done, retrying it
  unchanged cannot help. Both are also `ValueError`s.
- `Unavailable`: no node could take the request (none reachable, or each was stopping or full)
  and none was ever handed a write: nothing was done.
- `Timeout`: no answer before the deadline; **the outcome is unknown**, a write may still be
  applied (once: a later retry of the same write is never applied twice). `NoQuorum` is the
  `Timeout` of a cluster that has no established leader (most nodes down or partitioned).
- `CasMismatch`: the compare-and-set found another value, `current`; nothing was written.
- Leases: `LockHeld` (and `LockWaitTimeout`), `HeldByYou`, `NotHolder` (the lease is lost),
  `StaleToken` (a fenced write refused); `VersionConflict` for the versioned map and
  `QueueEmpty` for a pop. Each means nothing was changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyxos.client.coordination import LeaseInfo


class PyxosError(Exception):
    """Base class of every error the client raises on purpose; `code` is the service's."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(PyxosError, ValueError):  # noqa: N818 (named after the error code)
    """The request is malformed (an empty key, a bad consistency, a bad operation)."""

    code = "bad_request"


class TooLarge(BadRequest):
    """A key over 1 KiB or a value over 1 MiB, or an answer too large to send."""

    code = "too_large"


class Unavailable(PyxosError):  # noqa: N818
    """No node could take the request; nothing was done."""

    code = "unavailable"


class Timeout(PyxosError):  # noqa: N818 (named after the service's error code)
    """No answer before the deadline; the outcome is unknown (a write may still be applied)."""

    code = "timeout"


class NoQuorum(Timeout):
    """No answer before the deadline and no leader established; the outcome is unknown."""

    code = "no_quorum"


class CasMismatch(PyxosError):  # noqa: N818
    """The key's value was not the expected one; `current` is what it is (None: absent)."""

    code = "cas_mismatch"

    def __init__(self, key: str, current: bytes | None) -> None:
        shown = "absent" if current is None else f"{current!r}"
        super().__init__(f"compare-and-set of {key!r} failed: its value is {shown}")
        self.key = key
        self.current = current


class _LeaseError(PyxosError):
    """A lock operation refused; `lease` is the lock's grant as the cluster saw it."""

    def __init__(self, message: str, lease: LeaseInfo) -> None:
        super().__init__(message)
        self.lease = lease


class LockHeld(_LeaseError):  # noqa: N818
    """Another owner holds the lock (`lease.holder`); nothing changed."""

    code = "lock_held"

    def __init__(self, lease: LeaseInfo) -> None:
        super().__init__(f"lock {lease.lock!r} is held by {lease.holder!r}", lease)


class LockWaitTimeout(LockHeld):
    """A lease wait ended without the grant; the wait was cancelled."""

    code = "lock_wait_timeout"


class HeldByYou(_LeaseError):  # noqa: N818
    """The owner already holds the lock: refresh it instead."""

    code = "held_by_you"

    def __init__(self, lease: LeaseInfo) -> None:
        super().__init__(f"lock {lease.lock!r} is already held by {lease.holder!r}", lease)


class NotHolder(_LeaseError):  # noqa: N818
    """The owner and token are not the lock's current grant: the lease is lost (it expired,
    or was released)."""

    code = "not_holder"

    def __init__(self, lease: LeaseInfo) -> None:
        super().__init__(
            f"not the holder of lock {lease.lock!r} (now {lease.holder!r}, token {lease.token})",
            lease,
        )


class StaleToken(_LeaseError):  # noqa: N818
    """A fenced write's token is not the lock's current unexpired grant; nothing was written."""

    code = "stale_token"

    def __init__(self, lease: LeaseInfo) -> None:
        super().__init__(
            f"stale token for lock {lease.lock!r} (current grant: {lease.token}); not written",
            lease,
        )


class VersionConflict(PyxosError):  # noqa: N818
    """A versioned-map write at a version the entry is not at; `version` is the entry's (0:
    absent) and `value` its value. Nothing was written."""

    code = "version_conflict"

    def __init__(self, key: str, version: int, value: bytes | None) -> None:
        super().__init__(f"map entry {key!r} is at version {version}")
        self.key = key
        self.version = version
        self.value = value


class QueueEmpty(PyxosError):  # noqa: N818
    """A pop from an empty queue."""

    code = "queue_empty"


class ProtocolError(PyxosError):
    """A node answered something the protocol does not allow, or refused the connection's
    hello (another cluster, another protocol version). The client tries another node."""

    code = "protocol_error"


def error_for(code: str, message: str) -> PyxosError:
    """The exception for an error `code` of a node's answer."""
    kind = _BY_CODE.get(code)
    if kind is None:
        return PyxosError(f"{code}: {message}")
    return kind(message)


_BY_CODE: dict[str, type[PyxosError]] = {
    kind.code: kind for kind in (BadRequest, TooLarge, Unavailable, Timeout, NoQuorum)
}
