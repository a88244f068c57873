"""A lease held in the background, and an election built on one.

`HeldLease` keeps a granted lease alive: it refreshes it every third of its TTL and sets `lost`
(an `asyncio.Event`) as soon as it cannot be sure of holding it any more: the cluster answered
`not_holder` (it expired, or someone released it with the token), or the client's own clock
passed the end of the lease counted from the moment the last successful grant or refresh was
SENT (the cluster's lease started later, so this errs on the safe side) without a refresh
getting through. Code protected by the lease should check `lost` and, better, fence its writes
with `token` (`put_fenced`): a process paused past its lease cannot see `lost` in time, and only
the fence keeps the data safe then.

`Campaign` is an election for a role: the candidates wait in line for the lock
`election/{role}`; the one granted is the leader until its lease ends. `on_elected(token)` is
called when this candidate becomes leader, `on_lease_end()` when its lease is lost; then it
campaigns again, until `resign()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING

from pyxos.client.errors import NotHolder, PyxosError

if TYPE_CHECKING:
    from pyxos.client.coordination import Coordination, LeaseInfo

log = logging.getLogger(__name__)

ELECTION_PREFIX = "election/"
RETRY_S = 0.05
"""After a refresh that failed without an answer, try again this soon (while the lease lasts)."""


class HeldLease:
    """A lease this client holds; refreshed in the background until `release()`."""

    def __init__(
        self, client: Coordination, info: LeaseInfo, owner: str, ttl_s: float, sent: float
    ) -> None:
        assert info.token is not None
        self._client = client
        self.name = info.lock
        self.owner = owner
        self.token: int = info.token
        self.ttl_s = ttl_s
        self.info = info
        self.lost = asyncio.Event()
        self.valid_until = sent + ttl_s
        """The client's own clock (`loop.time()`) beyond which the lease may have ended."""
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_loop())

    @property
    def held(self) -> bool:
        """Still held, as far as this client can tell (see the module's caveat)."""
        return not self.lost.is_set() and asyncio.get_running_loop().time() < self.valid_until

    async def _refresh_loop(self) -> None:
        loop = asyncio.get_running_loop()
        every_s = self.ttl_s / 3
        next_at = loop.time() + every_s
        try:
            while True:
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                sent = loop.time()
                left = self.valid_until - sent
                if left <= 0:
                    break
                try:
                    async with asyncio.timeout(left):
                        self.info = await self._client.lock_refresh(
                            self.name, self.owner, self.token, self.ttl_s
                        )
                except NotHolder:
                    break
                except (TimeoutError, PyxosError) as exc:
                    log.info("lease %r: refresh failed (%s); retrying", self.name, exc)
                    next_at = loop.time() + RETRY_S
                    continue
                self.valid_until = sent + self.ttl_s
                next_at = sent + every_s
        finally:
            self.lost.set()

    async def release(self) -> None:
        """Stop refreshing and release the lease (if still held); the next waiter gets it."""
        was_held = not self.lost.is_set()
        self._refresher.cancel()
        await asyncio.gather(self._refresher, return_exceptions=True)
        if was_held:
            with contextlib.suppress(NotHolder):
                await self._client.lock_release(self.name, self.owner, self.token)

    async def __aenter__(self) -> HeldLease:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()


class LockContext:
    """`async with client.lock(name, ttl_s) as lease:` acquires (waiting up to `timeout_s`; 0:
    not at all), holds with background refreshes, and releases on exit."""

    def __init__(
        self, client: Coordination, name: str, owner: str, ttl_s: float, timeout_s: float
    ) -> None:
        self._client = client
        self._args = (name, owner, ttl_s, timeout_s)
        self._lease: HeldLease | None = None

    async def __aenter__(self) -> HeldLease:
        name, owner, ttl_s, timeout_s = self._args
        sent = asyncio.get_running_loop().time()
        if timeout_s > 0:
            info = await self._client.lock_wait(name, owner, ttl_s, timeout_s=timeout_s)
        else:
            info = await self._client.lock_get(name, owner, ttl_s)
        # A wait's grant may come long after the request left; the lease started at the grant,
        # and the client cannot know when that was closer than `remaining_ms` allows.
        loop = asyncio.get_running_loop()
        if info.remaining_ms is not None:
            sent = max(sent, loop.time() - (ttl_s - info.remaining_ms / 1000))
        self._lease = HeldLease(self._client, info, owner, ttl_s, sent)
        return self._lease

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._lease is not None:
            await self._lease.release()


Callback = Callable[..., Awaitable[None] | None]


class Campaign:
    """A candidate for `role`, campaigning in the background until `resign()`."""

    def __init__(
        self,
        client: Coordination,
        role: str,
        *,
        owner: str,
        ttl_s: float,
        on_elected: Callable[[int], Awaitable[None] | None],
        on_lease_end: Callable[[], Awaitable[None] | None],
    ) -> None:
        self._client = client
        self.role = role
        self.owner = owner
        self.ttl_s = ttl_s
        self._on_elected = on_elected
        self._on_lease_end = on_lease_end
        self.lease: HeldLease | None = None
        self.terms = 0
        self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def is_leader(self) -> bool:
        return self.lease is not None and self.lease.held

    async def _run(self) -> None:
        lock = ELECTION_PREFIX + self.role
        loop = asyncio.get_running_loop()
        while True:
            sent = loop.time()
            try:
                info = await self._client.lock_wait(lock, self.owner, self.ttl_s, timeout_s=60.0)
            except PyxosError as exc:  # a timeout of the wait, or of the cluster: again
                log.debug("campaign %r: %s", self.role, exc)
                continue
            self.lease = HeldLease(self._client, info, self.owner, self.ttl_s, sent)
            self.terms += 1
            await _call(self._on_elected, self.lease.token)
            await self.lease.lost.wait()
            self.lease = None
            await _call(self._on_lease_end)

    async def resign(self) -> None:
        """Stop campaigning; if leader, call `on_lease_end` and then release the role, so that
        the next candidate is elected at once."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        lease, self.lease = self.lease, None
        if lease is not None:
            # The leader stops acting as one before anyone else can be elected.
            await _call(self._on_lease_end)
            await lease.release()
            return
        # A wait may still be in line on the cluster: leave it, and give the role back if it
        # was granted meanwhile (best effort: a grant that races past this ends with its TTL).
        lock = ELECTION_PREFIX + self.role
        try:
            info = await self._client.lock_cancel(lock, self.owner)
            if info.holder == self.owner and info.token is not None:
                await self._client.lock_release(lock, self.owner, info.token)
        except PyxosError as exc:
            log.debug("campaign %r: leaving the line: %s", self.role, exc)


async def _call(callback: Callback, *args: object) -> None:
    result = callback(*args)
    if inspect.isawaitable(result):
        await result
