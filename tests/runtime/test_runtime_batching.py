"""`WriteBatcher`: frames queued in one event-loop turn leave in one write, and none is written
to a connection that closed before the flush (under uvloop, such a write raises)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from pyxos.runtime.batching import WriteBatcher


def _run_uvloop(main: Callable[[], Coroutine[Any, Any, None]]) -> list[dict[str, Any]]:
    """Run `main` on uvloop; the contexts the loop's exception handler got."""
    errors: list[dict[str, Any]] = []

    async def guarded() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: errors.append(ctx))
        await main()

    uvloop.run(guarded())
    return errors


def test_frames_of_one_turn_leave_in_one_write() -> None:
    writes: list[tuple[bytes, int]] = []

    async def main() -> None:
        batcher = WriteBatcher(lambda data, frames: writes.append((data, frames)))
        for frame in (b"a", b"bc", b"d"):
            batcher.add(frame)
        assert writes == []  # not before the end of the turn
        await asyncio.sleep(0)
        batcher.add(b"e")
        batcher.flush()  # at once, and the scheduled flush then finds nothing
        await asyncio.sleep(0)

    assert _run_uvloop(main) == []
    assert writes == [(b"abcd", 3), (b"e", 1)]


def test_nothing_is_written_to_a_connection_the_peer_reset_before_the_flush() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def reset(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.transport.abort()

        server = await asyncio.start_server(reset, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        lost: asyncio.Future[None] = loop.create_future()

        class Outbound(asyncio.Protocol):
            def connection_lost(self, exc: Exception | None) -> None:
                lost.set_result(None)

        transport, _ = await loop.create_connection(Outbound, "127.0.0.1", port)
        sent: list[int] = []

        def write(data: bytes, frames: int) -> None:
            sent.append(frames)
            transport.write(data)

        batcher = WriteBatcher(write, closing=transport.is_closing)
        await lost
        # The transport is closed, and whoever owns it has not heard yet: frames still come.
        batcher.add(b"frame")
        batcher.add(b"frame")
        await asyncio.sleep(0)
        assert sent == []
        server.close()
        await server.wait_closed()

    assert _run_uvloop(main) == []
