"""The fast client protocol: msgpack messages in length-prefixed frames (`pyxos.wire.frames`).

A connection opens with the client's `Hello(version, cluster)`; the node answers `Welcome`
(its protocol version, cluster id, node id and the client addresses of every member, so that a
client given one address can find the others) or, for a version it does not speak or another
cluster, an error `Response(id=0, ...)` before it closes the connection. Then the client sends
`Request`s without waiting, each with an `id` of its choosing, and the node answers each with a
`Response` carrying the same `id`, in the order the answers are ready (not the order asked).

`Request.kind` is `write` (`op` goes through the log exactly once under the client's own
session `(client_id, seq)`), `read` (`op` is a read-only query, linearizable unless
`linearizable` is false), `status` (`op` is ignored; the result is the node's status as a
msgpack map) or `wait`: a write of a lease request that may queue (`op` is a lock machine's
`Acquire` with `wait=True`, routed to "locks"), answered only once the lock is granted to its
owner or `wait_ms` has passed (the wait is then cancelled through the log, and the answer says
the lock was not granted). `wait_ms` is ignored by the other kinds.

`Response.status` is `ok`, or one of the stable error codes below, the same as the HTTP
API's; `result` is the state machine's answer on success, `message` says what went
wrong otherwise.

A pure layer like the rest of `pyxos.wire`: a payload that does not decode, or decodes to a
message that makes no sense on that side, raises `RemoteProtocolError`.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from pyxos.wire.errors import RemoteProtocolError

CLIENT_PROTOCOL_VERSION: Final = 1
CLIENT_ID_MIN: Final = 1 << 48
"""The smallest client id a client may choose for its own session; the ids below are the
nodes' own pools (the same value as `pyxos.runtime.runner.CLIENT_ID_MIN`, a test keeps it)."""
CLIENT_ID_MAX: Final = (1 << 63) - 1

# The limits of the key-value service, the same as the HTTP API's (pyxos.service.app,
# a test keeps them equal): checked by the client before sending and by the node on arrival.
KEY_BYTES_MAX: Final = 1024
VALUE_BYTES_MAX: Final = 1024 * 1024
REQUEST_FRAME_BYTES_MAX: Final = 2 * VALUE_BYTES_MAX + 64 * 1024
"""The largest frame a node accepts from a client: room for a compare-and-set with two values
of the maximum size. A larger declared length closes the connection (there is no frame
boundary left to resynchronise on)."""
RESPONSE_FRAME_BYTES_MAX: Final = 16 * 1024 * 1024
"""The largest frame a node sends and a client accepts (a key listing can be long); an answer
that would be larger is replaced by a `too_large` error."""

# Stable error codes (`Response.status` when not `OK`).
OK: Final = "ok"
BAD_REQUEST: Final = "bad_request"
TOO_LARGE: Final = "too_large"
UNAVAILABLE: Final = "unavailable"
NO_QUORUM: Final = "no_quorum"
TIMEOUT: Final = "timeout"
INTERNAL: Final = "internal"
UNSUPPORTED_BY_PROTOCOL: Final = "unsupported_by_protocol"
ERROR_CODES: Final = frozenset(
    {BAD_REQUEST, TOO_LARGE, UNAVAILABLE, NO_QUORUM, TIMEOUT, INTERNAL, UNSUPPORTED_BY_PROTOCOL}
)

RequestKind = Literal["write", "read", "status", "wait"]


class _ClientMessage(msgspec.Struct, frozen=True, kw_only=True, array_like=True, tag=True):
    pass


class Hello(_ClientMessage, frozen=True, tag="hello"):
    """Client to node, first: the protocol version it speaks and the cluster it expects
    (empty: any cluster)."""

    version: int
    cluster: str = ""


class Welcome(_ClientMessage, frozen=True, tag="welcome"):
    """Node to client, the answer to `Hello`: who this is, and where every member's client
    port is (`{node id: "host:port"}`, as configured; a wildcard host means "this host")."""

    version: int
    cluster: str
    node: int
    members: dict[int, str]


class Request(_ClientMessage, frozen=True, tag="req"):
    """One request; `id` is the client's, unique among its requests in flight."""

    id: int
    kind: RequestKind
    op: bytes = b""
    client_id: int = 0
    seq: int = 0
    linearizable: bool = True
    wait_ms: int = 0


class Response(_ClientMessage, frozen=True, tag="resp"):
    """The answer to request `id`: `status` is `ok` or an error code."""

    id: int
    status: str
    result: bytes = b""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK


ClientMessage = Hello | Welcome | Request | Response
ToNode = Hello | Request
ToClient = Welcome | Response

_ENCODER = msgspec.msgpack.Encoder()
_TO_NODE: msgspec.msgpack.Decoder[ToNode] = msgspec.msgpack.Decoder(ToNode)
_TO_CLIENT: msgspec.msgpack.Decoder[ToClient] = msgspec.msgpack.Decoder(ToClient)


def encode_message(message: ClientMessage) -> bytes:
    """The payload of `message` (frame it with `pyxos.wire.frames.encode_frame`)."""
    return _ENCODER.encode(message)


def decode_to_node(payload: bytes) -> ToNode:
    """Decode what a client sent. Raises `RemoteProtocolError` on anything else."""
    try:
        return _TO_NODE.decode(payload)
    except ValueError as exc:  # DecodeError, ValidationError, and UnicodeDecodeError too
        raise RemoteProtocolError(f"undecodable client message: {exc}") from None


def decode_to_client(payload: bytes) -> ToClient:
    """Decode what a node sent. Raises `RemoteProtocolError` on anything else."""
    try:
        return _TO_CLIENT.decode(payload)
    except ValueError as exc:
        raise RemoteProtocolError(f"undecodable node message: {exc}") from None


def check_hello(hello: Hello, *, cluster: str) -> str | None:
    """Why a node of `cluster` refuses `hello`, or None if it accepts it."""
    if hello.version != CLIENT_PROTOCOL_VERSION:
        return (
            f"client protocol version {hello.version}, this node speaks {CLIENT_PROTOCOL_VERSION}"
        )
    if hello.cluster and hello.cluster != cluster:
        return f"this node belongs to cluster {cluster!r}, not {hello.cluster!r}"
    return None


def error_response(request_id: int, code: str, message: str) -> Response:
    if code not in ERROR_CODES:
        raise ValueError(f"unknown error code {code!r}")
    return Response(id=request_id, status=code, message=message)
