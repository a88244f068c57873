"""One socket write per event-loop turn: frames queued during a turn leave together.

Both the peer transport and the client server answer many small messages; a `write` per frame
would cost a syscall each (about half the CPU on this path, see the peers' reference figures).
A `WriteBatcher` collects frames and flushes them at the end of the turn with one write.

A connection can close between the turn that queues a frame and the turn that flushes it: the
peer resets it, and the transport is closed before its protocol hears of it. asyncio's
transports drop a write after close; uvloop's raise `RuntimeError` ("unable to perform operation
on <TCPTransport closed=True>"), which would land in the loop's exception handler as an error
for an operator to chase. So a batcher may be told how to see that its connection is closing
(`closing`), and then drops what is pending instead of writing it: the frames are lost with
the connection either way, and the protocols above resend what matters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class WriteBatcher:
    """Collects frames; `write(data, frame_count)` gets them joined once per event-loop turn,
    unless `closing()` says the connection is closing by then."""

    __slots__ = ("_closing", "_pending", "_scheduled", "_write")

    def __init__(
        self,
        write: Callable[[bytes, int], None],
        *,
        closing: Callable[[], bool] | None = None,
    ) -> None:
        self._write = write
        self._closing = closing
        self._pending: list[bytes] = []
        self._scheduled = False

    def add(self, frame: bytes) -> None:
        self._pending.append(frame)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write what is pending now (also called by the scheduled end-of-turn flush)."""
        self._scheduled = False
        pending, self._pending = self._pending, []
        if not pending or (self._closing is not None and self._closing()):
            return
        self._write(pending[0] if len(pending) == 1 else b"".join(pending), len(pending))

    def clear(self) -> None:
        """Forget what is pending (the connection it was meant for is gone)."""
        self._pending.clear()
