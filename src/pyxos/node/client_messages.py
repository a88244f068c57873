"""Messages between clients and nodes.

A client sends `ClientRequest` (a command that goes through the log) or `ClientRead` (a query
served without writing the log). The node that received the request answers it once the
command has been applied in its own state machine, or the read can be served.
"""

from __future__ import annotations

import msgspec


class _ClientMsg(msgspec.Struct, frozen=True, kw_only=True, array_like=True, tag=True, gc=False):
    pass


class ClientRequest(_ClientMsg, frozen=True, tag="req"):
    """Run `op` exactly once. Retries reuse the same `(client_id, seq)`."""

    client_id: int
    seq: int
    op: bytes


class ClientRead(_ClientMsg, frozen=True, tag="read"):
    """Run the read-only `query`. `linearizable=False` allows a possibly stale local read."""

    client_id: int
    read_id: int
    query: bytes
    linearizable: bool = True


class ClientReply(_ClientMsg, frozen=True, tag="reply"):
    """The result of the command `(client_id, seq)`, and the `slot` whose batch held it; 0 for
    a duplicate answered from the session table (applied earlier, its slot not kept)."""

    client_id: int
    seq: int
    result: bytes
    slot: int = 0


class ReadReply(_ClientMsg, frozen=True, tag="rreply"):
    """The result of read `read_id`."""

    client_id: int
    read_id: int
    result: bytes


ClientInbound = ClientRequest | ClientRead
ClientOutbound = ClientReply | ReadReply
