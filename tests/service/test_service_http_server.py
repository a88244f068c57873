"""The node's HTTP server on a real socket, against clients that misbehave: requests that are not
HTTP, a client gone mid-body, headers sent a byte at a time, connections that never send
anything. Each gets a short answer or a closed connection, one warning line at most, and the
node keeps serving."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from service_harness import started_runner

from pyxos.runtime.config import HostPort
from pyxos.runtime.ports import free_ports
from pyxos.service.app import build_app, serve
from pyxos.service.http_server import ConnectionGuard, ServerLimits

DEADLINE_S = 10.0
POLL_S = 0.02
ANSWER_BYTES_MAX = 512


@dataclass
class Server:
    address: HostPort
    guard: ConnectionGuard

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.address.host, self.address.port)

    async def exchange(self, request: bytes) -> bytes:
        """Send `request` on a new connection; everything the server sends until it closes."""
        reader, writer = await self.connect()
        writer.write(request)
        try:
            return await asyncio.wait_for(reader.read(), DEADLINE_S)
        finally:
            writer.close()

    async def get(self, path: str) -> tuple[int, bytes]:
        answer = await self.exchange(
            f"GET {path} HTTP/1.1\r\nHost: pyxos\r\nConnection: close\r\n\r\n".encode()
        )
        head, _, body = answer.partition(b"\r\n\r\n")
        return int(head.split()[1]), body


@asynccontextmanager
async def serving(limits: ServerLimits) -> AsyncIterator[Server]:
    async with started_runner() as runner:
        address = HostPort(host="127.0.0.1", port=free_ports(1)[0])
        http = await serve(build_app(runner, runner.status), address, limits)
        try:
            yield Server(address=address, guard=http.guard)
        finally:
            await http.cleanup()


async def poll(what: str, check: Callable[[], Awaitable[bool] | bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {DEADLINE_S}s")
        await asyncio.sleep(POLL_S)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def _assert_one_line_each(caplog: pytest.LogCaptureFixture, count: int) -> None:
    records = _warnings(caplog)
    assert [r.levelno for r in records] == [logging.WARNING] * count, caplog.text
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records)


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 20 + b"\r\n\r\n", id="tls"),
        pytest.param(b"G\x00T / HTTP/1.1\r\n\r\n", id="bad-method"),
        pytest.param(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n", id="line-too-long"),
        pytest.param(b"GET / HTTP/1.1\r\nX: " + b"b" * 20_000 + b"\r\n\r\n", id="header-too-long"),
        pytest.param(b"GET / HTTP/9.9\r\n\r\n", id="bad-version"),
    ],
)
def test_a_request_that_is_not_http_gets_a_short_400_and_one_warning(
    request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with serving(ServerLimits()) as server:
            answer = await server.exchange(request_bytes)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.split(b" ", 2)[1] == b"400", answer[:200]
            assert len(answer) < ANSWER_BYTES_MAX
            assert json.loads(body)["code"] == "bad_request"
            assert b"aaaa" not in answer and b"bbbb" not in answer
            assert server.guard.counters.malformed == 1
            assert (await server.get("/healthz"))[0] == 200

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    _assert_one_line_each(caplog, 1)


def test_a_megabyte_of_random_bytes_is_one_warning_and_never_echoed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    noise = random.Random(7).randbytes(1 << 20)

    async def scenario() -> None:
        async with serving(ServerLimits()) as server:
            reader, writer = await server.connect()
            writer.write(noise)
            answer = b""
            # The node answers and closes while the rest of the megabyte is still on its way,
            # which may reset the connection before the answer is read: then it is lost.
            with suppress(ConnectionResetError):
                answer = await asyncio.wait_for(reader.read(), DEADLINE_S)
            writer.close()
            assert len(answer) < ANSWER_BYTES_MAX
            assert noise[:16] not in answer
            await poll("the warning", lambda: server.guard.counters.malformed == 1)
            assert (await server.get("/healthz"))[0] == 200

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    _assert_one_line_each(caplog, 1)


def test_a_client_gone_mid_body_is_one_warning_and_writes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        async with serving(ServerLimits()) as server:
            _, writer = await server.connect()
            writer.write(
                b"PUT /v1/kv/k HTTP/1.1\r\nHost: pyxos\r\nContent-Length: 1000\r\n\r\nonly part"
            )
            await writer.drain()
            writer.close()
            await poll("the warning", lambda: bool(_warnings(caplog)))
            assert await server.get("/v1/kv/k?consistency=stale") == (
                404,
                b'{"code":"key_not_found","message":"no key \'k\'"}',
            )

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    _assert_one_line_each(caplog, 1)
    assert "went away" in _warnings(caplog)[0].getMessage()


def test_a_body_that_breaks_its_chunked_framing_is_a_400(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with serving(ServerLimits()) as server:
            answer = await server.exchange(
                b"PUT /v1/kv/k HTTP/1.1\r\nHost: pyxos\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"zz\r\nabc\r\n0\r\n\r\n"
            )
            assert answer.split(b" ", 2)[1] == b"400", answer[:200]
            assert len(answer) < ANSWER_BYTES_MAX

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    _assert_one_line_each(caplog, 1)


def test_headers_sent_too_slowly_are_cut_at_the_deadline() -> None:
    limits = ServerLimits(header_timeout_s=0.3)

    async def scenario() -> None:
        async with serving(limits) as server:
            # Nothing at all, then a byte at a time: both closed at the deadline.
            silent_reader, _ = await server.connect()
            reader, writer = await server.connect()
            started = time.monotonic()
            trickle = b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"z" * 1000
            sent = 0
            while not reader.at_eof() and sent < len(trickle):
                writer.write(trickle[sent : sent + 1])
                sent += 1
                with suppress(TimeoutError):
                    await asyncio.wait_for(reader.read(1), 0.05)  # the slow client's pace
            assert reader.at_eof(), "the slow connection is still open"
            assert limits.header_timeout_s <= time.monotonic() - started < DEADLINE_S
            assert await asyncio.wait_for(silent_reader.read(), DEADLINE_S) == b""
            assert server.guard.counters.header_timeouts == 2
            assert (await server.get("/healthz"))[0] == 200
            writer.close()

    asyncio.run(scenario())


def test_a_kept_alive_connection_is_not_cut_by_the_header_deadline() -> None:
    limits = ServerLimits(header_timeout_s=0.2)

    async def scenario() -> None:
        async with serving(limits) as server:
            reader, writer = await server.connect()
            for _ in range(2):
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE_S)
                assert head.startswith(b"HTTP/1.1 200 ")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                # Idle between requests for longer than the header deadline: the deadline only
                # runs from a request's first byte, so the connection stays.
                await asyncio.sleep(limits.header_timeout_s * 2)
            assert server.guard.counters.header_timeouts == 0
            writer.close()

    asyncio.run(scenario())


def test_idle_connections_over_the_bound_close_the_oldest_first() -> None:
    limits = ServerLimits(idle_connections_max=4)

    async def scenario() -> None:
        async with serving(limits) as server:
            connections = [await server.connect() for _ in range(10)]
            await poll("six closed", lambda: server.guard.counters.idle_closed == 6)
            for reader, _ in connections[:6]:
                assert await asyncio.wait_for(reader.read(), DEADLINE_S) == b""
            assert server.guard.idle_count == 4
            # A new client is served: its connection takes the place of the oldest idle one.
            assert (await server.get("/healthz"))[0] == 200
            await poll("the next oldest closed", lambda: server.guard.counters.idle_closed == 7)
            assert await asyncio.wait_for(connections[6][0].read(), DEADLINE_S) == b""
            for _, writer in connections:
                writer.close()

    asyncio.run(scenario())


def test_the_api_reference_states_the_default_limits() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    limits = ServerLimits()
    assert f"**Header deadline: {limits.header_timeout_s:g} s.**" in text
    assert f"**Idle connections: at most {limits.idle_connections_max}.**" in text
    assert f"**Keep-alive: {limits.keepalive_timeout_s:g} s.**" in text
