"""What can go wrong when an embedded node proposes a command or answers a read.

The errors say what is known about the outcome, which is what a caller decides on:

- `Unavailable`: the node is not running, is stopping, or its queues are full. Raised before the
  command was handed to the protocol, except when the node stopped while the command waited
  (then retry it on a running node with its `request_id`: it is applied at most once).
- `Timeout`: no answer before the deadline; the command may or may not be applied. Retrying with
  the same `request_id` is exactly-once. `NoQuorum` is the `Timeout` of a node that knew of no
  established leader at the deadline: a majority is probably unreachable.
- `CommandFailed`: the command was applied, and the machine raised. The exception happened on
  every replica at the same point of the log (machines are deterministic), so the state is
  whatever the machine left it in there.

There is no "not leader" error: a node that is not the leader forwards the command to the one
that is, and answers once the command is applied locally.
"""

from __future__ import annotations

from typing import NamedTuple


class RequestId(NamedTuple):
    """The identity of one proposed command: the node's client session and its sequence number.

    A command proposed again with the same `RequestId` is applied at most once."""

    client_id: int
    seq: int


class PyxosError(Exception):
    """The base of the embedded node's errors; `request_id` names the command, if there was one."""

    def __init__(self, message: str, *, request_id: RequestId | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class Unavailable(PyxosError):  # noqa: N818 (a condition, like the HTTP code it maps to)
    """The node cannot take the request now (not started, stopping, or overloaded)."""


class Timeout(PyxosError):  # noqa: N818
    """No answer before the deadline; the outcome is unknown. Retry with `request_id`."""


class NoQuorum(Timeout):
    """A `Timeout` while the node knew of no established leader: a majority is unreachable."""


class CommandFailed(PyxosError):  # noqa: N818
    """The machine raised while applying the command (on every replica alike).

    `error` is the exception's type name and message, as the machine raised it."""

    def __init__(self, error: str, *, request_id: RequestId | None = None) -> None:
        super().__init__(f"the machine raised: {error}", request_id=request_id)
        self.error = error
