"""The errors pyxos raises on purpose: one tree for `Client`, `AsyncClient` and `Node`.

`except pyxos.Timeout` catches a timeout whoever raised it: the blocking client, the asyncio
client, an embedded node, or the runtime under them. Every class has the `code` of the
service's error answer it stands for (docs/api.md), so an error that crosses the wire comes
back as the same class (`error_for`).

Whose fault, and what is known about the outcome:

- `BadRequest` (and `TooLarge`): the request itself is wrong; nothing was done, and retrying it
  unchanged cannot help. Both are also `ValueError`s.
- `Unavailable`: nothing could take the request (no node reachable, or the node is stopping or
  full); nothing was done.
- `Timeout`: no answer before the deadline; **the outcome of a write is unknown** (it may still
  be applied, once: a retry with the same `request_id` or session is never applied twice).
- `NoQuorum` is the `Timeout` of a cluster that cannot reach a quorum: `unreachable` names the
  nodes the answering node could not reach (empty when it could not tell), and a read or write
  fails until enough of them are back.
- `CommandFailed`: an embedded node's machine raised while applying the command, on every
  replica alike.
- `CasMismatch`, `VersionConflict`, `QueueEmpty`: the operation found another state; nothing
  was changed. (The lease errors, which carry a lease, are in `pyxos.client.errors`.)
- `UnsupportedByProtocol`: the cluster's protocol cannot run this operation with the
  guarantee it promises (under WPaxos: a fenced write, a linearizable listing of many keys);
  nothing was done, and the message names the protocol and what to do instead.

This module imports nothing of pyxos, nor asyncio or aiohttp: every layer may import it, the
pure ones included.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class RequestId(NamedTuple):
    """The identity of one proposed command: its client session and its sequence number.

    A command proposed again with the same `RequestId` is applied at most once."""

    client_id: int
    seq: int


class PyxosError(Exception):
    """The base of every error pyxos raises on purpose; `code` is the service's error code.

    `request_id` names the command, when there was one and it can be retried with it."""

    code = "error"

    def __init__(self, message: str, *, request_id: RequestId | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id


class BadRequest(PyxosError, ValueError):  # noqa: N818 (named after the error code)
    """The request is malformed (an empty key, a bad consistency, a bad operation)."""

    code = "bad_request"


class TooLarge(BadRequest):
    """A key over 1 KiB or a value over 1 MiB, or an answer too large to send."""

    code = "too_large"


class Unavailable(PyxosError):  # noqa: N818
    """Nothing could take the request (not running, stopping, full, unreachable); nothing was
    done."""

    code = "unavailable"


class Timeout(PyxosError):  # noqa: N818
    """No answer before the deadline; the outcome of a write is unknown (it may still be
    applied). Retry it with its `request_id` (or session): it is applied at most once."""

    code = "timeout"


class NoQuorum(Timeout):
    """No quorum of the cluster can be reached: a majority is down or cut off.

    `unreachable` are the ids of the nodes the answering node could not reach (empty when it
    could not tell, e.g. no leader was elected in time). A write's outcome is unknown, as for
    any `Timeout`."""

    code = "no_quorum"

    def __init__(
        self,
        message: str,
        *,
        unreachable: Iterable[int] = (),
        request_id: RequestId | None = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.unreachable = tuple(sorted(unreachable))


class CommandFailed(PyxosError):  # noqa: N818
    """An embedded node's machine raised while applying the command (on every replica alike).

    `error` is the exception's type name and message, as the machine raised it."""

    code = "command_failed"

    def __init__(self, error: str, *, request_id: RequestId | None = None) -> None:
        super().__init__(f"the machine raised: {error}", request_id=request_id)
        self.error = error


class CasMismatch(PyxosError):  # noqa: N818
    """The key's value was not the expected one; `current` is what it is (None: absent)."""

    code = "cas_mismatch"

    def __init__(self, key: str, current: bytes | None) -> None:
        shown = "absent" if current is None else f"{current!r}"
        super().__init__(f"compare-and-set of {key!r} failed: its value is {shown}")
        self.key = key
        self.current = current


class VersionConflict(PyxosError):  # noqa: N818
    """A versioned-map write at a version the entry is not at; `version` is the entry's (0:
    absent) and `value` its value. Nothing was written."""

    code = "version_conflict"

    def __init__(self, key: str, version: int, value: bytes | None) -> None:
        at = "absent" if version == 0 else f"at version {version}"
        super().__init__(f"map entry {key!r} is {at}")
        self.key = key
        self.version = version
        self.value = value


class QueueEmpty(PyxosError):  # noqa: N818
    """A pop from an empty queue."""

    code = "queue_empty"


class UnsupportedByProtocol(PyxosError):  # noqa: N818 (named after the error code)
    """The cluster's consensus protocol cannot run the operation with its guarantee (docs/
    protocols.md, "Services under WPaxos"): nothing was done. `protocol` is the cluster's
    protocol (empty when the answer did not say)."""

    code = "unsupported_by_protocol"

    def __init__(self, message: str, *, protocol: str = "") -> None:
        super().__init__(message)
        self.protocol = protocol


class ProtocolError(PyxosError):
    """A node answered something the protocol does not allow, or refused the connection's
    hello (another cluster, another protocol version). The client tries another node."""

    code = "protocol_error"


def error_for(code: str, message: str) -> PyxosError:
    """The exception for an error `code` of a node's answer, with its `message`."""
    kind = _BY_CODE.get(code)
    if kind is None:
        return PyxosError(f"{code}: {message}")
    return kind(message)


_BY_CODE: dict[str, type[PyxosError]] = {
    kind.code: kind
    for kind in (BadRequest, TooLarge, Unavailable, Timeout, NoQuorum, UnsupportedByProtocol)
}


def name_nodes(ids: Iterable[int | str]) -> str:
    """`"node 2"`, `"nodes 2 and 3"`, `"nodes 2, 3 and 5"`: node ids (or names, such as a zoned
    cluster's `"1.2"`) in a sentence, in the order given."""
    shown = [str(i) for i in ids]
    if len(shown) <= 1:
        return f"node {''.join(shown)}"
    return f"nodes {', '.join(shown[:-1])} and {shown[-1]}"


def unreachable_text(ids: Iterable[int | str]) -> str:
    """`"node 3 is unreachable"`, `"nodes 2 and 3 are unreachable"`."""
    shown = tuple(ids)
    return f"{name_nodes(shown)} {'is' if len(shown) == 1 else 'are'} unreachable"


def seconds_text(seconds: float) -> str:
    """A wait as the caller set it: `"5 s"`, `"2.5 s"`, `"0.35 s"` (never rounded up)."""
    return f"{seconds:g} s"
