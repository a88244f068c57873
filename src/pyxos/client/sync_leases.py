"""`Client.lock(...)`: a lease held by a blocking client, refreshed by a thread of its own.

The same contract as `HeldLease` (`pyxos.client.leases`), for threaded code: `lost` (a
`threading.Event`) is set as soon as the lease may have ended: the cluster answered
`not_holder`, or the client's clock passed the lease's end, counted from when the last
successful grant or refresh was sent, without a refresh getting through. A thread and not the
client's event loop, because the blocking client runs its loop only inside a call. Protect
writes with the fencing `token` (`put_fenced`): a process paused past its lease cannot see
`lost` in time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

from pyxos.client.errors import NotHolder, PyxosError
from pyxos.client.leases import RETRY_S

if TYPE_CHECKING:
    from pyxos.client.coordination import LeaseInfo
    from pyxos.client.sync_client import Client

log = logging.getLogger(__name__)


class SyncLease:
    """A lease this blocking client holds; refreshed every third of its TTL until released."""

    def __init__(self, client: Client, info: LeaseInfo, owner: str, ttl_s: float, sent: float):
        assert info.token is not None
        self._client = client
        self.name = info.lock
        self.owner = owner
        self.token: int = info.token
        self.ttl_s = ttl_s
        self.info = info
        self.lost = threading.Event()
        self.valid_until = sent + ttl_s
        """`time.monotonic()` beyond which the lease may have ended."""
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._refresh_loop, name=f"pyxos-lease-{self.name}", daemon=True
        )
        self._thread.start()

    @property
    def held(self) -> bool:
        """Still held, as far as this client can tell."""
        return not self.lost.is_set() and time.monotonic() < self.valid_until

    def _refresh_loop(self) -> None:
        every_s = self.ttl_s / 3
        next_at = time.monotonic() + every_s
        try:
            while not self._stop.wait(max(0.0, next_at - time.monotonic())):
                sent = time.monotonic()
                if sent >= self.valid_until:
                    break
                try:
                    self.info = self._client.lock_refresh(
                        self.name, self.owner, self.token, self.ttl_s
                    )
                except NotHolder:
                    break
                except PyxosError as exc:
                    log.info("lease %r: refresh failed (%s); retrying", self.name, exc)
                    next_at = time.monotonic() + RETRY_S
                    continue
                self.valid_until = sent + self.ttl_s
                next_at = sent + every_s
        finally:
            if not self._stop.is_set():
                self.lost.set()

    def release(self) -> None:
        """Stop refreshing and release the lease (if still held); the next waiter gets it."""
        self._stop.set()
        self._thread.join()
        if not self.lost.is_set():
            self.lost.set()
            with contextlib.suppress(NotHolder):
                self._client.lock_release(self.name, self.owner, self.token)

    def __enter__(self) -> SyncLease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire(client: Client, name: str, owner: str, ttl_s: float, timeout_s: float) -> SyncLease:
    """Take lock `name` (waiting up to `timeout_s`; 0: not at all) and hold it."""
    sent = time.monotonic()
    if timeout_s > 0:
        info = client.lock_wait(name, owner, ttl_s, timeout_s=timeout_s)
    else:
        info = client.lock_get(name, owner, ttl_s)
    # A wait's grant may come long after the request left: the lease started at the grant.
    if info.remaining_ms is not None:
        sent = max(sent, time.monotonic() - (ttl_s - info.remaining_ms / 1000))
    return SyncLease(client, info, owner, ttl_s, sent)
