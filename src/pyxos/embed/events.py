"""Notifications from an embedded node: role changes and applied commands.

Both come as callbacks (called on the node's event loop, between two steps of the node: they
must be quick and must not raise) and as async iterators (`Subscription`), each with its own
bounded queue. A subscriber that falls behind loses the newest events, never blocks the node:
`Subscription.dropped` counts what it missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pyxos.embed.errors import RequestId

log = logging.getLogger(__name__)

T = TypeVar("T")

SUBSCRIPTION_EVENTS_MAX = 10_000
"""Events a subscription holds for a consumer that has not taken them yet."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleChange:
    """This node became the leader (`is_leader`), or stopped being it."""

    node_id: int
    is_leader: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedCommand:
    """A command reached machine `machine` on this node, at `slot` and log time `time_ms`.

    `result` is what the machine returned; `error` is set instead when it raised. `request_id`
    is the proposer's, whichever node proposed it (None for internal commands). Commands are
    reported as they are applied, including when a restarted node replays its log; a node that
    catches up by installing a snapshot reports none of the commands the snapshot covers.
    """

    machine: str
    slot: int
    time_ms: int
    request_id: RequestId | None
    command: Any
    result: Any = None
    error: str | None = None


class Subscription(Generic[T]):
    """An async iterator over a node's events, from the moment it was created.

    Ends when the node stops or `close()` is called; usable as a context manager that closes it.
    """

    def __init__(self, feed: Feed[T], events_max: int) -> None:
        self._feed = feed
        self._queue: asyncio.Queue[T | None] = asyncio.Queue(events_max)
        self.dropped = 0
        self._closed = False

    def _offer(self, event: T | None) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            if event is None:  # the end must arrive: make room for it
                self._queue.get_nowait()
                self._queue.put_nowait(None)
            self.dropped += 1

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._feed.remove(self)
            self._offer(None)

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        event = await self._queue.get()
        if event is None:
            self._closed = True
            raise StopAsyncIteration
        return event

    def __enter__(self) -> Subscription[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Feed(Generic[T]):
    """One kind of event: its callbacks and its subscriptions."""

    def __init__(self, callbacks: list[Callable[[T], None]]) -> None:
        self._callbacks = callbacks
        self._subscriptions: list[Subscription[T]] = []

    @property
    def wanted(self) -> bool:
        return bool(self._callbacks or self._subscriptions)

    def subscribe(self, events_max: int = SUBSCRIPTION_EVENTS_MAX) -> Subscription[T]:
        subscription = Subscription(self, events_max)
        self._subscriptions.append(subscription)
        return subscription

    def remove(self, subscription: Subscription[T]) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def publish(self, event: T) -> None:
        for callback in self._callbacks:
            try:
                callback(event)
            except Exception:
                # A callback's bug must not stop the node (it runs between two steps).
                log.exception("a callback raised on %r", event)
        for subscription in self._subscriptions:
            subscription._offer(event)

    def end(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.close()
