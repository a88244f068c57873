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
"""

from __future__ import annotations


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
