"""How a node's HTTP server treats its connections: deadlines, bounds, and requests that are not
HTTP.

Theory of operation. aiohttp gives each connection a `RequestHandler`; ours, `GuardedHandler`,
adds what a node exposed to arbitrary clients needs:

- **A header deadline.** A request's line and headers must arrive within `header_timeout_s` of
  its first byte (of the connection's start, for its first request), or the connection is
  closed. Without it, a client that sends its headers a byte at a time holds a connection for
  ever (aiohttp's own timer only closes a connection that waits between requests).
- **A bound on idle connections.** A connection is idle while it waits for a request (its
  first, or its next one after keep-alive). When more than `idle_connections_max` are idle, the
  oldest is closed: connections that never send anything cannot crowd the node out, and a
  client whose kept-alive connection is closed this way simply opens another.
- **Malformed requests get one warning line and a short answer.** A request that is not HTTP
  (random bytes, a line over the parser's limit, a bad method) is answered 400 `bad_request`
  in a few dozen bytes, never echoing the input, and logged as one WARNING line without a
  traceback; so is a body that breaks its own framing (bad chunked encoding). A client that
  goes away in the middle of its body is one WARNING line too (`disconnects_middleware`).

`ServerLimits` holds the numbers; `GuardedRunner` is an `aiohttp.web.AppRunner` whose
connections get a `GuardedHandler`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from pyxos.service.errors import ApiError, Handler, error_response

log = logging.getLogger(__name__)

MALFORMED_DETAIL_CHARS_MAX = 80
"""How much of the parser's complaint a warning quotes: enough to see what was sent, bounded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerLimits:
    header_timeout_s: float = 10.0
    """A request's line and headers must arrive within this long of its first byte."""
    idle_connections_max: int = 512
    """At most this many connections may wait for a request; the oldest go first."""
    keepalive_timeout_s: float = 75.0
    """A kept-alive connection that sends no new request for this long is closed."""

    def __post_init__(self) -> None:
        if self.header_timeout_s <= 0 or self.keepalive_timeout_s <= 0:
            raise ValueError("header_timeout_s and keepalive_timeout_s must be positive")
        if self.idle_connections_max < 1:
            raise ValueError("idle_connections_max must be at least 1")


@dataclass(slots=True)
class ConnectionCounters:
    header_timeouts: int = 0
    idle_closed: int = 0
    malformed: int = 0


class ConnectionGuard:
    """The connections of one server that wait for a request, oldest first."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.counters = ConnectionCounters()
        self._idle: dict[GuardedHandler, None] = {}  # insertion order: oldest first

    def idle(self, handler: GuardedHandler) -> None:
        """`handler` waits for a request now; close the oldest idle ones over the bound."""
        self._idle.pop(handler, None)
        self._idle[handler] = None
        while len(self._idle) > self.limits.idle_connections_max:
            oldest = next(iter(self._idle))
            del self._idle[oldest]
            self.counters.idle_closed += 1
            log.debug("http: closing the oldest idle connection (%s)", oldest.peer)
            oldest.force_close()

    def busy(self, handler: GuardedHandler) -> None:
        self._idle.pop(handler, None)

    def is_idle(self, handler: GuardedHandler) -> bool:
        return handler in self._idle

    @property
    def idle_count(self) -> int:
        return len(self._idle)


class GuardedHandler(RequestHandler):
    """aiohttp's connection handler, with a header deadline, a place in the idle bound, and a
    short answer to a malformed request."""

    def __init__(self, manager: web.Server, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._header_deadline: asyncio.TimerHandle | None = None
        self.peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "?"
        self._arm_header_deadline()
        self._guard.idle(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_header_deadline()
        self._guard.busy(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data and self._header_deadline is None and self._guard.is_idle(self):
            self._arm_header_deadline()  # the first byte of the next request
        requests = self._request_count
        super().data_received(data)
        if self._request_count != requests:  # its headers are in (or it failed to parse)
            self._disarm_header_deadline()
            self._guard.busy(self)

    async def finish_response(
        self, request: BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        answered = await super().finish_response(request, resp, start_time)
        if not self._messages:  # nothing pipelined behind it: waiting for the next request
            self._guard.idle(self)
        return answered

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        self._guard.counters.malformed += 1
        log.warning("http: malformed request from %s: %s", self.peer, describe_malformed(exc))
        response = error_response(
            ApiError("bad_request", f"malformed HTTP request ({type(exc).__name__})")
        )
        response.force_close()
        return response

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self._loop.call_later(
            self._guard.limits.header_timeout_s, self._on_header_deadline
        )

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _on_header_deadline(self) -> None:
        self._header_deadline = None
        self._guard.counters.header_timeouts += 1
        self._guard.busy(self)
        log.debug("http: no request headers from %s in time; closing", self.peer)
        self.force_close()


def describe_malformed(exc: HttpProcessingError) -> str:
    """The exception's class and the start of its message, on one line."""
    detail = " ".join(str(exc.message).split())[:MALFORMED_DETAIL_CHARS_MAX]
    return f"{type(exc).__name__}: {detail!r}"


class GuardedServer(web.Server):
    """aiohttp's low-level server, making a `GuardedHandler` per connection."""

    guard: ConnectionGuard

    def __call__(self) -> RequestHandler:
        return GuardedHandler(self, self.guard, loop=self._loop, **self._kwargs)


class GuardedRunner(web.AppRunner):
    """An `AppRunner` whose connections are guarded by `limits`."""

    def __init__(self, app: web.Application, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=limits.keepalive_timeout_s, **kwargs)
        self.guard = ConnectionGuard(limits)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The application built the server (its request factory and handler are its own);
        # only the class that makes each connection's handler changes.
        guarded = cast(GuardedServer, server)
        guarded.__class__ = GuardedServer
        guarded.guard = self.guard
        return guarded


@web.middleware
async def disconnects_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A body that breaks its framing is a 400; a client gone mid-body is one warning line.

    Both surface while a route reads the body; without this they would reach the errors
    middleware as unexpected exceptions (an ERROR with a traceback). Registered inside it.
    """
    try:
        return await handler(request)
    except HttpProcessingError as exc:
        log.warning(
            "http: malformed body of %s %s from %s: %s",
            request.method,
            request.path,
            request.remote,
            describe_malformed(exc),
        )
        raise ApiError("bad_request", f"malformed request body ({type(exc).__name__})") from None
    except ConnectionError as exc:
        transport = request.transport
        if transport is not None and not transport.is_closing():
            raise  # the client is still there: not a disconnect, so a bug to report whole
        log.warning(
            "http: %s %s from %s: the client went away mid-request (%s)",
            request.method,
            request.path,
            request.remote,
            type(exc).__name__,
        )
        raise ApiError("bad_request", "the connection closed mid-request") from None
