"""What can go wrong when an embedded node proposes a command or answers a read.

The classes are `pyxos.errors`' (re-exported here, the path they had first), so `except
pyxos.Timeout` catches an embedded node's timeouts as well as a client's. What each says about
the outcome, which is what a caller decides on:

- `Unavailable`: the node is not running, is stopping, or its queues are full. Raised before the
  command was handed to the protocol, except when the node stopped while the command waited
  (then retry it on a running node with its `request_id`: it is applied at most once).
- `Timeout`: no answer before the deadline; the command may or may not be applied. Retrying with
  the same `request_id` is exactly-once. `NoQuorum` is the `Timeout` of a node that cannot reach
  a quorum (`unreachable` names the nodes it cannot reach) or knew of no established leader at
  the deadline: a majority is probably down or cut off.
- `CommandFailed`: the command was applied, and the machine raised. The exception happened on
  every replica at the same point of the log (machines are deterministic), so the state is
  whatever the machine left it in there.

There is no "not leader" error: a node that is not the leader forwards the command to the one
that is, and answers once the command is applied locally.
"""

from __future__ import annotations

from pyxos.errors import (
    CommandFailed,
    NoQuorum,
    PyxosError,
    RequestId,
    Timeout,
    Unavailable,
)

__all__ = ["CommandFailed", "NoQuorum", "PyxosError", "RequestId", "Timeout", "Unavailable"]
