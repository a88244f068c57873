"""The fast client protocol server: pipelined msgpack requests over TCP on a node's client port.

Theory of operation. Each connection is an `asyncio.Protocol`; there is no task per connection.
Bytes go through an incremental `FrameDecoder`, so one socket read yields every request it
carried. The first message must be a `Hello` (version and cluster checked; the answer is a
`Welcome` with the members' client addresses). After it every `Request` is checked at once
(session ids, operation shape and sizes: a bad one is answered `bad_request` / `too_large` and
never reaches the log) and then handed to the runner in a task of its own, so many requests of
one connection are in flight together and each is answered when it is done, in whatever order
that is. A `status` request is answered on the spot.

Answers are coalesced: a response is appended to the connection's pending list, and the first
one of an event-loop iteration schedules a flush (`call_soon`), so every response that became
ready in one iteration (a group commit typically completes many at once) leaves in one
`write`, one system call. Reads come the same way: one `data_received`, many requests.

Bounds. At most `in_flight_max` requests per connection run at once; past that the
connection keeps the rest of what it read in a backlog and stops reading (TCP pushes back on
the client) until half of them are answered. It
also stops reading while its socket's send buffer is over the high-water mark (a client that
does not read its answers). The runner's own bounds (inbox, client ids) apply behind that.

Bad bytes hurt one connection only: a frame that does not decode, a declared length over
`REQUEST_FRAME_BYTES_MAX`, a message out of place (no `Hello` first, a second `Hello`) gets an
error `Response(id=0)` when possible, the connection is closed, a counter goes up and a line
is logged (rate-limited). The node itself never sees those bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import cast

import msgspec

from pyxos.errors import UnsupportedByProtocol
from pyxos.machines.locks import encode_result as encode_lock_result
from pyxos.runtime.batching import WriteBatcher
from pyxos.runtime.config import HostPort
from pyxos.runtime.lease_waits import acquire, waited_acquire
from pyxos.runtime.op_checks import service_op_error
from pyxos.runtime.requests import CLIENT_ID_MIN, NoQuorum, Timeout, Unavailable
from pyxos.runtime.runner import NodeRunner
from pyxos.runtime.status import NodeStatus
from pyxos.wire.client import (
    BAD_REQUEST,
    CLIENT_PROTOCOL_VERSION,
    INTERNAL,
    NO_QUORUM,
    OK,
    REQUEST_FRAME_BYTES_MAX,
    RESPONSE_FRAME_BYTES_MAX,
    TIMEOUT,
    TOO_LARGE,
    UNAVAILABLE,
    UNSUPPORTED_BY_PROTOCOL,
    Hello,
    Request,
    RequestKind,
    Response,
    Welcome,
    check_hello,
    decode_to_node,
    encode_message,
    error_response,
)
from pyxos.wire.errors import RemoteProtocolError
from pyxos.wire.frames import FrameDecoder, encode_frame

log = logging.getLogger(__name__)

IN_FLIGHT_MAX = 1024
"""Requests of one connection running at once before the connection stops reading."""

OpCheck = Callable[[RequestKind, bytes], tuple[str, str] | None]
"""Why an operation is refused, as `(error code, message)`, or None if it may run."""

_STATUS_ENCODER = msgspec.msgpack.Encoder()


@dataclass(slots=True)
class ClientServerCounters:
    connections: int = 0
    requests: int = 0
    responses: int = 0
    writes: int = 0
    requests_refused: int = 0
    connections_closed_bad_stream: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class ClientServer:
    """Serves one node's runner on its client address. `start()`, then `close()`."""

    def __init__(
        self,
        runner: NodeRunner,
        *,
        cluster: str,
        listen: HostPort,
        members: Mapping[int, HostPort],
        status: Callable[[], NodeStatus],
        check_op: OpCheck = service_op_error,
        in_flight_max: int = IN_FLIGHT_MAX,
    ) -> None:
        self.runner = runner
        self.cluster = cluster
        self._listen = listen
        self._status = status
        self.check_op = check_op
        self.in_flight_max = in_flight_max
        self.welcome = encode_frame(
            encode_message(
                Welcome(
                    version=CLIENT_PROTOCOL_VERSION,
                    cluster=cluster,
                    node=runner.node_id,
                    members={k: str(address) for k, address in sorted(members.items())},
                )
            ),
            frame_bytes_max=RESPONSE_FRAME_BYTES_MAX,
        )
        self.counters = ClientServerCounters()
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()

    async def start(self) -> None:
        """Listen on the client address. Raises `OSError` if it cannot be bound."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self._listen.host, self._listen.port, reuse_address=True
        )
        log.info("node=%d client protocol on %s", self.runner.node_id, self._listen)

    @property
    def address(self) -> HostPort:
        """The bound address (the real port when the configured one was 0)."""
        assert self._server is not None and self._server.sockets
        host, port = self._server.sockets[0].getsockname()[:2]
        return HostPort(host=host, port=port)

    async def close(self, *, grace_s: float = 1.0) -> None:
        """Stop listening, give the requests in flight `grace_s` to be answered (after the
        runner stopped they fail at once, `unavailable`), send what is pending, close."""
        if self._server is not None:
            self._server.close()
        tasks = [task for connection in self._connections for task in connection.tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)
        for connection in list(self._connections):
            connection.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def status(self) -> NodeStatus:
        return self._status()

    def bad_stream(self, where: str, reason: str) -> None:
        self.counters.connections_closed_bad_stream += 1
        count = self.counters.connections_closed_bad_stream
        # The first few and then every power of two: garbage must not flood the log.
        if count <= 10 or count & (count - 1) == 0:
            log.warning(
                "node=%d closed client connection %s (%d so far): %s",
                self.runner.node_id,
                where,
                count,
                reason,
            )


class _Connection(asyncio.Protocol):
    """One client connection: frames in, requests to the runner, responses out in batches."""

    def __init__(self, server: ClientServer) -> None:
        self._server = server
        self._runner = server.runner
        self._counters = server.counters
        self._decoder = FrameDecoder(frame_bytes_max=REQUEST_FRAME_BYTES_MAX)
        self._transport: asyncio.Transport | None = None
        self._where = "?"
        self._greeted = False
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._backlog: deque[bytes] = deque()  # requests read but not started: at most one read
        self._batcher = WriteBatcher(self._write)
        self._full = False  # too many requests in flight: not reading
        self._backed_up = False  # the client does not read its answers: not reading

    # ---- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self._where = f"from {peer[0]}:{peer[1]}" if peer else "from ?"
        self._server._connections.add(self)
        self._counters.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._server._connections.discard(self)
        # Nobody is left to answer; a write already handed to the node may still be applied
        # (the client retries it with the same session elsewhere, and that is exactly-once).
        for task in self._tasks:
            task.cancel()

    def pause_writing(self) -> None:
        self._backed_up = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._backed_up = False
        self._update_reading()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            self._backlog.extend(self._decoder.feed(data))
        except RemoteProtocolError as exc:
            self._refuse(str(exc))
            return
        self._drain()

    def _drain(self) -> None:
        """Take requests from the backlog while fewer than `in_flight_max` run."""
        backlog = self._backlog
        try:
            while backlog and not self._full and not self._closing:
                self._on_message(backlog.popleft())
        except RemoteProtocolError as exc:
            self._refuse(str(exc))

    # ---- requests -------------------------------------------------------------------------
    def _on_message(self, payload: bytes) -> None:
        message = decode_to_node(payload)
        if type(message) is Hello:
            if self._greeted:
                raise RemoteProtocolError("a second hello on one connection")
            why = check_hello(message, cluster=self._server.cluster)
            if why is not None:
                self._refuse(why)
                return
            self._greeted = True
            self._queue(self._server.welcome)
            return
        if not self._greeted:
            raise RemoteProtocolError("a request before the hello")
        assert type(message) is Request
        self._counters.requests += 1
        refusal = self._check(message)
        if refusal is not None:
            self._counters.requests_refused += 1
            self._respond(error_response(message.id, *refusal))
            return
        if message.kind == "status":
            result = _STATUS_ENCODER.encode(self._server.status())
            self._respond(Response(id=message.id, status=OK, result=result))
            return
        task = asyncio.get_running_loop().create_task(self._serve(message))
        self._tasks.add(task)
        task.add_done_callback(self._done)
        if len(self._tasks) >= self._server.in_flight_max and not self._full:
            self._full = True
            self._update_reading()

    def _check(self, request: Request) -> tuple[str, str] | None:
        if request.kind in ("write", "wait") and (
            request.client_id < CLIENT_ID_MIN or request.seq < 1
        ):
            return BAD_REQUEST, f"a write needs client_id >= {CLIENT_ID_MIN} and seq >= 1"
        if request.kind == "status":
            return None
        return self._server.check_op(request.kind, request.op)

    async def _serve(self, request: Request) -> None:
        runner = self._runner
        try:
            if request.kind == "write":
                session = (request.client_id, request.seq)
                result = await runner.write(request.op, session=session)
            elif request.kind == "wait":
                lease = waited_acquire(request.op)
                assert lease is not None  # checked on arrival
                session = (request.client_id, request.seq)
                granted = await acquire(
                    runner, lease, wait_ms=max(0, request.wait_ms), session=session
                )
                result = encode_lock_result(granted)
            else:
                result = await runner.read(request.op, linearizable=request.linearizable)
            response = Response(id=request.id, status=OK, result=result)
        except NoQuorum as exc:  # the result names the unreachable nodes, as msgpack ids
            unreachable = _STATUS_ENCODER.encode(list(exc.unreachable))
            response = Response(
                id=request.id, status=NO_QUORUM, message=str(exc), result=unreachable
            )
        except Timeout as exc:  # the client adds what is known of a write's outcome
            response = error_response(request.id, TIMEOUT, str(exc))
        except Unavailable as exc:
            response = error_response(request.id, UNAVAILABLE, str(exc))
        except UnsupportedByProtocol as exc:
            response = error_response(request.id, UNSUPPORTED_BY_PROTOCOL, str(exc))
        except ValueError as exc:
            response = error_response(request.id, BAD_REQUEST, str(exc))
        except Exception as exc:  # a bug of ours: answer it, keep the connection and the node
            log.exception("node=%d client request %d failed", runner.node_id, request.id)
            response = error_response(request.id, INTERNAL, f"{type(exc).__name__}: {exc}")
        self._respond(response)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._full and len(self._tasks) <= self._server.in_flight_max // 2:
            self._full = False
            self._drain()
            self._update_reading()

    # ---- responses ------------------------------------------------------------------------
    def _respond(self, response: Response) -> None:
        self._counters.responses += 1
        payload = encode_message(response)
        if len(payload) > RESPONSE_FRAME_BYTES_MAX:
            # Only a listing can be this long: the client asks again for fewer keys.
            payload = encode_message(
                error_response(
                    response.id,
                    TOO_LARGE,
                    f"the answer is {len(payload)} bytes, over {RESPONSE_FRAME_BYTES_MAX}",
                )
            )
        self._queue(encode_frame(payload, frame_bytes_max=RESPONSE_FRAME_BYTES_MAX))

    def _queue(self, frame: bytes) -> None:
        if not self._closing:
            self._batcher.add(frame)

    def _write(self, data: bytes, frames: int) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self._counters.writes += 1
        transport.write(data)

    # ---- flow control and closing ---------------------------------------------------------
    def _update_reading(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if self._full or self._backed_up:
            if transport.is_reading():
                transport.pause_reading()
        elif not transport.is_reading():
            transport.resume_reading()

    def _refuse(self, reason: str) -> None:
        """Tell the client why (best effort), then close: the stream cannot be trusted."""
        self._server.bad_stream(self._where, reason)
        self._batcher.add(
            encode_frame(
                encode_message(error_response(0, BAD_REQUEST, reason)),
                frame_bytes_max=RESPONSE_FRAME_BYTES_MAX,
            )
        )
        self._batcher.flush()
        self._closing = True
        if self._transport is not None:
            self._transport.close()  # after the buffered answers and the error are sent

    @property
    def tasks(self) -> set[asyncio.Task[None]]:
        return self._tasks

    def close(self) -> None:
        """Send what is pending, then close (the server is stopping)."""
        self._batcher.flush()
        self._closing = True
        if self._transport is not None:
            self._transport.close()
