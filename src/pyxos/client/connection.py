"""One connection of a client to one node: pipelined requests, answers matched by id.

`NodeConnection.open(address)` connects, says `Hello` and waits for the node's `Welcome`. Then
`request(...)` returns a future at once; the frames of every request made in one event-loop
iteration leave in one `write`, and the answers, in whatever order the node sends them, resolve
their futures by `id`. When the connection is lost (or the node sends something the protocol
does not allow) every pending future fails with `ConnectionLost`: the caller decides what is
safe to retry (a write with its same session always is).

A node's HTTP port given where its client port belongs answers the hello with an HTTP error
page; its first bytes, `HTTP/`, are recognised before they are read as a frame length (they
would be one of 1.2 GB) and `open` fails at once with `NotAClientPort`, which names the port
to use instead: the one the node's own `GET /status` gives, asked on that same HTTP port.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import cast

import msgspec

from pyxos.client.endpoints import reachable
from pyxos.client.errors import ProtocolError, TooLarge, error_for
from pyxos.runtime.config import HostPort, parse_host_port
from pyxos.runtime.status import JSON_DECODER, UNSET
from pyxos.wire.client import (
    CLIENT_PROTOCOL_VERSION,
    REQUEST_FRAME_BYTES_MAX,
    RESPONSE_FRAME_BYTES_MAX,
    Hello,
    Request,
    RequestKind,
    Response,
    Welcome,
    decode_to_client,
    encode_message,
)
from pyxos.wire.errors import LocalProtocolError, RemoteProtocolError
from pyxos.wire.frames import FrameDecoder, encode_frame


class ConnectionLost(Exception):  # noqa: N818 (an event, not a condition of the caller's)
    """The connection ended before the answer came; the request may or may not have run."""


class NotAClientPort(ProtocolError):  # noqa: N818 (says what the address is)
    """The address answered in HTTP: it is a node's HTTP port, not its client port; `client`
    is the node's client address when its `/status` said."""

    def __init__(self, address: HostPort, client: str | None = None) -> None:
        use = (
            f"its client port is {client}"
            if client is not None
            else "give its client port instead (`client` in the cluster file; by default "
            "the HTTP port + 1000, as `pyxos up` prints)"
        )
        super().__init__(f"{address} answered in HTTP: it is a node's HTTP port; {use}")
        self.client = client


HTTP_ANSWER = b"HTTP/"
STATUS_ANSWER_BYTES_MAX = 1 << 20


class NodeConnection(asyncio.Protocol):
    """A connection to one node. Build it with `await NodeConnection.open(address, ...)`."""

    def __init__(self, address: HostPort) -> None:
        self.address = address
        self._transport: asyncio.Transport | None = None
        self._decoder = FrameDecoder(frame_bytes_max=RESPONSE_FRAME_BYTES_MAX)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Response]] = {}
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._welcome: asyncio.Future[Welcome] = asyncio.get_running_loop().create_future()
        self.closed = False
        self._close_when_idle = False
        self.welcome: Welcome | None = None
        self._head: bytes | None = b""  # the first bytes, until they are not an HTTP answer

    @classmethod
    async def open(
        cls, address: HostPort, *, cluster: str = "", timeout_s: float
    ) -> NodeConnection:
        """Connect and greet. Raises `OSError`/`TimeoutError` if the node cannot be reached in
        `timeout_s`, `ProtocolError` if it refuses the hello (another cluster or version)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout_s):
            _, connection = await loop.create_connection(
                lambda: cls(address), address.host, address.port
            )
            connection._send(Hello(version=CLIENT_PROTOCOL_VERSION, cluster=cluster))
            try:
                connection.welcome = await connection._welcome
            except NotAClientPort:
                connection.close()
                raise NotAClientPort(address, await _client_address(address)) from None
            except BaseException:
                connection.close()
                raise
        return connection

    @property
    def node(self) -> int:
        assert self.welcome is not None
        return self.welcome.node

    def request(
        self,
        kind: RequestKind,
        op: bytes = b"",
        *,
        client_id: int = 0,
        seq: int = 0,
        linearizable: bool = True,
        wait_ms: int = 0,
    ) -> asyncio.Future[Response]:
        """Send one request; its answer resolves the future (or `ConnectionLost` fails it)."""
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        if self.closed:
            future.set_exception(ConnectionLost(f"the connection to {self.address} is closed"))
            return future
        request_id = next(self._ids)
        request = Request(
            id=request_id,
            kind=kind,
            op=op,
            client_id=client_id,
            seq=seq,
            linearizable=linearizable,
            wait_ms=wait_ms,
        )
        try:
            self._send(request)
        except LocalProtocolError as exc:
            future.set_exception(TooLarge(str(exc)))
            return future
        self._pending[request_id] = future
        return future

    def close_when_idle(self) -> None:
        """Close once every request in flight has its answer (now, if none is)."""
        self._close_when_idle = True
        if not self._pending:
            self.close()

    def close(self) -> None:
        self._lost(ConnectionLost(f"the connection to {self.address} was closed"))
        if self._transport is not None:
            self._transport.close()

    # ---- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        why = f": {exc}" if exc is not None else ""
        self._lost(ConnectionLost(f"lost the connection to {self.address}{why}"))

    def data_received(self, data: bytes) -> None:
        if self._head is not None:
            # Until five bytes are in, they could be the start of an HTTP answer.
            self._head += data
            if len(self._head) < len(HTTP_ANSWER) and HTTP_ANSWER.startswith(self._head):
                return
            data, self._head = self._head, None
            if data.startswith(HTTP_ANSWER):
                self._fail(NotAClientPort(self.address))
                return
        try:
            for payload in self._decoder.feed(data):
                self._on_message(payload)
        except (RemoteProtocolError, ProtocolError) as exc:
            self._fail(ProtocolError(f"node at {self.address}: {exc}"))

    # ---- internals ------------------------------------------------------------------------
    def _on_message(self, payload: bytes) -> None:
        message = decode_to_client(payload)
        if type(message) is Welcome:
            if self._welcome.done():
                raise ProtocolError("a second welcome")
            self._welcome.set_result(message)
            return
        assert type(message) is Response
        if message.id == 0:
            # The node refuses the connection (a bad hello, or it found our bytes bad).
            raise ProtocolError(str(error_for(message.status, message.message)))
        future = self._pending.pop(message.id, None)
        if future is not None and not future.done():  # done: the caller gave up on it
            future.set_result(message)
        if self._close_when_idle and not self._pending:
            self.close()

    def _send(self, message: Hello | Request) -> None:
        self._out.append(
            encode_frame(encode_message(message), frame_bytes_max=REQUEST_FRAME_BYTES_MAX)
        )
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out, self._out = self._out, []
        transport = self._transport
        if out and transport is not None and not transport.is_closing():
            transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _fail(self, error: ProtocolError) -> None:
        """The node broke the protocol (or is no node): fail everything and drop the line."""
        if not self._welcome.done():
            self._welcome.set_exception(error)
        self._lost(ConnectionLost(str(error)))
        if self._transport is not None:
            self._transport.abort()

    def _lost(self, error: ConnectionLost) -> None:
        if self.closed:
            return
        self.closed = True
        if not self._welcome.done():
            self._welcome.set_exception(error)
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)


async def _client_address(http: HostPort) -> str | None:
    """The client address the node serving HTTP at `http` gives in its `/status`; None if it
    does not say. Bounded by the caller's timeout."""
    try:
        reader, writer = await asyncio.open_connection(http.host, http.port)
    except OSError:
        return None
    try:
        writer.write(f"GET /status HTTP/1.0\r\nHost: {http}\r\n\r\n".encode())
        answer = b""
        while len(answer) < STATUS_ANSWER_BYTES_MAX:  # HTTP/1.0: the node closes at the end
            chunk = await reader.read(STATUS_ANSWER_BYTES_MAX)
            if not chunk:
                break
            answer += chunk
    except OSError:
        return None
    finally:
        writer.close()
    _, _, body = answer.partition(b"\r\n\r\n")
    try:
        status = JSON_DECODER.decode(body)
    except msgspec.DecodeError:
        return None
    if status.client is UNSET:
        return None
    try:
        return str(reachable(parse_host_port(status.client)))
    except ValueError:
        return None
