"""`Client`: the blocking client, an `AsyncClient` on an event loop of its own.

Each call runs the `AsyncClient` coroutine to completion on the client's private loop, in the
calling thread (no thread hop, so one call costs one round trip and a little). Calls from
several threads are serialised by a lock; for concurrency in one process use `AsyncClient`
(whose pool of sessions runs concurrent writes in parallel) or one `Client` per thread. A
`Client` cannot be used from inside a running event loop: use `AsyncClient` there.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from pyxos.client.arguments import Value, check_key
from pyxos.client.async_client import (
    ATTEMPT_TIMEOUT_S,
    CONNECT_TIMEOUT_S,
    LIST_LIMIT,
    SESSIONS_MAX,
    TIMEOUT_S,
    AsyncClient,
    Listing,
)
from pyxos.client.coordination import Consistency, LeaseInfo, default_owner
from pyxos.client.sync_leases import SyncLease, acquire
from pyxos.runtime.config import ClusterConfig
from pyxos.runtime.status import NodeStatus

T = TypeVar("T")


def _new_loop() -> asyncio.AbstractEventLoop:
    # The standard loop, not uvloop: uvloop's `run_until_complete` sets up its signal wake-up
    # socket pair on every call (two sockets per request), which costs more than it saves.
    return asyncio.new_event_loop()


class Client:
    """A blocking client of one pyxos cluster; the arguments are `AsyncClient`'s.

    Use it as a context manager, or call `close()`.
    """

    def __init__(
        self,
        endpoints: str | Sequence[str] | None = None,
        *,
        config: str | Path | ClusterConfig | None = None,
        cluster: str | None = None,
        timeout_s: float = TIMEOUT_S,
        attempt_timeout_s: float = ATTEMPT_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        sessions_max: int = SESSIONS_MAX,
        pinned: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._loop = _new_loop()
        try:
            self._async = AsyncClient(
                endpoints,
                config=config,
                cluster=cluster,
                timeout_s=timeout_s,
                attempt_timeout_s=attempt_timeout_s,
                connect_timeout_s=connect_timeout_s,
                sessions_max=sessions_max,
                pinned=pinned,
            )
        except BaseException:
            self._loop.close()
            raise

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._loop.is_closed():
                coro.close()
                raise RuntimeError("the client is closed")
            return self._loop.run_until_complete(coro)

    def get(self, key: str | bytes, consistency: Consistency = "linearizable") -> bytes | None:
        """See `AsyncClient.get`."""
        return self._run(self._async.get(key, consistency))

    def put(self, key: str | bytes, value: Value) -> bytes | None:
        """See `AsyncClient.put`."""
        return self._run(self._async.put(key, value))

    def delete(self, key: str | bytes) -> bytes | None:
        """See `AsyncClient.delete`."""
        return self._run(self._async.delete(key))

    def cas(self, key: str | bytes, expected: Value | None, value: Value) -> None:
        """See `AsyncClient.cas`: raises `CasMismatch` when the value is not `expected`."""
        self._run(self._async.cas(key, expected, value))

    def nop(self) -> None:
        self._run(self._async.nop())

    def scan(
        self,
        prefix: str = "",
        *,
        limit: int = LIST_LIMIT,
        after: str | bytes = "",
        consistency: Consistency = "linearizable",
    ) -> Listing:
        """See `AsyncClient.scan`: pass each answer's `next` as `after` for the next page."""
        return self._run(
            self._async.scan(prefix, limit=limit, after=after, consistency=consistency)
        )

    def status(self) -> NodeStatus:
        return self._run(self._async.status())

    # ---- coordination: see `pyxos.client.coordination` ------------------------------------
    # `campaign()` (callbacks from a running event loop) is `AsyncClient`'s only.
    def lock(
        self, name: str, ttl_s: float, *, owner: str | None = None, timeout_s: float = 60.0
    ) -> SyncLease:
        """`with client.lock(name, ttl_s) as lease:` takes the lock (waiting up to `timeout_s`;
        0: not at all), refreshes it from a thread every `ttl_s / 3`, and releases it on exit.
        `lease.token` fences writes; `lease.lost` (a `threading.Event`) is set as soon as the
        lease may have ended. Raises like `lock_wait` / `lock_get`. The refreshes share this
        client with the caller's calls: a long call (a `lock_wait`) on the same client delays
        them, so make such calls on another `Client`."""
        check_key(name)
        return acquire(self, name, owner or default_owner(), ttl_s, timeout_s)

    def lock_get(self, name: str, owner: str, ttl_s: float) -> LeaseInfo:
        return self._run(self._async.lock_get(name, owner, ttl_s))

    def lock_wait(self, name: str, owner: str, ttl_s: float, *, timeout_s: float) -> LeaseInfo:
        return self._run(self._async.lock_wait(name, owner, ttl_s, timeout_s=timeout_s))

    def lock_whose(self, name: str, consistency: Consistency = "linearizable") -> LeaseInfo:
        return self._run(self._async.lock_whose(name, consistency))

    def lock_refresh(self, name: str, owner: str, token: int, ttl_s: float) -> LeaseInfo:
        return self._run(self._async.lock_refresh(name, owner, token, ttl_s))

    def lock_release(self, name: str, owner: str, token: int) -> LeaseInfo:
        return self._run(self._async.lock_release(name, owner, token))

    def leader(self, role: str) -> str | None:
        return self._run(self._async.leader(role))

    def put_fenced(self, key: str | bytes, value: Value, *, lock: str, token: int) -> bytes | None:
        return self._run(self._async.put_fenced(key, value, lock=lock, token=token))

    def delete_fenced(self, key: str | bytes, *, lock: str, token: int) -> bytes | None:
        return self._run(self._async.delete_fenced(key, lock=lock, token=token))

    def ask(self, key: str | bytes, value: Value | None = None) -> bytes | None:
        return self._run(self._async.ask(key, value))

    def queue_push(self, name: str, item: Value) -> int:
        return self._run(self._async.queue_push(name, item))

    def queue_peek(self, name: str, consistency: Consistency = "linearizable") -> bytes | None:
        return self._run(self._async.queue_peek(name, consistency))

    def queue_pop(self, name: str) -> bytes:
        return self._run(self._async.queue_pop(name))

    def map_get(
        self, key: str | bytes, consistency: Consistency = "linearizable"
    ) -> tuple[bytes, int] | None:
        return self._run(self._async.map_get(key, consistency))

    def map_put(self, key: str | bytes, value: Value, *, version: int | None = None) -> int:
        return self._run(self._async.map_put(key, value, version=version))

    def map_delete(self, key: str | bytes, *, version: int | None = None) -> bool:
        return self._run(self._async.map_delete(key, version=version))

    @property
    def node(self) -> int | None:
        """The id of the node this client is connected to, if it is."""
        return self._async.node

    def close(self) -> None:
        with self._lock:
            if self._loop.is_closed():
                return
            self._loop.run_until_complete(self._async.aclose())
            # Let the transports finish closing before the loop goes.
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
