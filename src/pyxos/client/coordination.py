"""The coordination calls of `AsyncClient`: leases with fencing tokens, fenced writes, per-key
consensus, queues and the versioned map.

Each call is one operation of a machine on the cluster's log (`pyxos.machines.locks`, `ask`,
`queue`, `vmap`), routed to it and sent over the fast client protocol like a key-value write
(exactly once, retried under its session) or read. A lease wait is the protocol's `wait`
request: the node answers when it applies the grant, or cancels the wait at its end.

Errors a caller handles: `LockHeld` (and `LockWaitTimeout`), `HeldByYou`, `NotHolder`,
`StaleToken`, `VersionConflict`, `QueueEmpty`; plus the usual `Timeout` / `Unavailable`.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pyxos.client.arguments import Value, check_key, check_value
from pyxos.client.errors import (
    BadRequest,
    HeldByYou,
    LockHeld,
    LockWaitTimeout,
    NotHolder,
    PyxosError,
    QueueEmpty,
    StaleToken,
    VersionConflict,
)
from pyxos.client.leases import ELECTION_PREFIX, Campaign, LockContext
from pyxos.machines import ask, locks, queue, vmap
from pyxos.machines.catalog import ASK, LOCKS, MAP, QUEUE
from pyxos.machines.kv import Delete, KvResult, Put
from pyxos.machines.kv import decode_result as decode_kv_result
from pyxos.machines.kv import encode_op as encode_kv_op
from pyxos.machines.router import route
from pyxos.wire.client import RequestKind

Consistency = Literal["linearizable", "stale"]

WAIT_S_MAX = 600.0
"""The longest one wait request may last (the node's limit); `lock_wait` asks again beyond."""


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """A lock's grant as the cluster saw it: `holder` None means free.

    `token` is the grant's fencing token; `expires_ms` is in log time (the leader's clock),
    comparable only with other answers' times; `remaining_ms` is what was left when the
    operation applied.
    """

    lock: str
    holder: str | None
    token: int | None
    expires_ms: int | None
    remaining_ms: int | None
    waiting: int = 0
    """How many other owners wait in line for the lock."""


def default_owner() -> str:
    """A fresh owner name that tells a person where a lease is held: `host:pid:random`."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _info(result: locks.LockResult) -> LeaseInfo:
    held = result.holder is not None
    return LeaseInfo(
        lock=result.lock,
        holder=result.holder,
        token=result.token if held else None,
        expires_ms=result.expires_ms if held else None,
        remaining_ms=result.remaining_ms if held else None,
        waiting=result.waiting,
    )


def _ttl_ms(ttl_s: float) -> int:
    ttl_ms = round(ttl_s * 1000)
    if not 1 <= ttl_ms <= locks.TTL_MS_MAX:
        raise BadRequest(f"a lease lasts 1 ms to one day, not {ttl_s} s")
    return ttl_ms


def _lock_result(answer: bytes) -> locks.LockResult:
    try:
        result = locks.decode_result(answer)
    except ValueError:
        raise PyxosError("the node's answer to a lock operation does not decode") from None
    if result.ok:
        return result
    info = _info(result)
    match result.error:
        case locks.ERROR_HELD:
            raise LockHeld(info)
        case locks.ERROR_HELD_BY_YOU:
            raise HeldByYou(info)
        case locks.ERROR_NOT_HOLDER:
            raise NotHolder(info)
        case locks.ERROR_STALE_TOKEN:
            raise StaleToken(info)
        case _:
            raise PyxosError(f"the lock machine refused the command: {result.error}")


class Coordination:
    """The coordination calls; `AsyncClient` inherits them."""

    # The transport, which `AsyncClient` provides.
    async def _write_bytes(
        self, encoded: bytes, *, kind: RequestKind = "write", wait_ms: int = 0
    ) -> bytes:
        raise NotImplementedError

    async def _call(
        self,
        kind: RequestKind,
        op: bytes,
        *,
        session: Any = None,
        linearizable: bool = True,
        wait_ms: int = 0,
    ) -> bytes:
        raise NotImplementedError

    # ---- leases ---------------------------------------------------------------------------
    async def _lock_write(self, op: locks.LockOp, *, wait_ms: int = 0) -> locks.LockResult:
        encoded = route(LOCKS, locks.encode_op(op))
        kind: RequestKind = "wait" if wait_ms else "write"
        return _lock_result(await self._write_bytes(encoded, kind=kind, wait_ms=wait_ms))

    async def lock_get(self, name: str, owner: str, ttl_s: float) -> LeaseInfo:
        """Acquire lock `name` for `owner` for `ttl_s` seconds, at once or not at all (leaseGet).

        Raises `LockHeld` (another owner holds it; `.lease` says who) or `HeldByYou`.
        """
        op = locks.Acquire(
            lock=check_key(name), owner=check_key(owner), ttl_ms=_ttl_ms(ttl_s), wait=False
        )
        return _info(await self._lock_write(op))

    async def lock_wait(
        self, name: str, owner: str, ttl_s: float, *, timeout_s: float
    ) -> LeaseInfo:
        """Acquire lock `name`, waiting in line (FIFO) up to `timeout_s` (leaseWait). The node
        answers as soon as it applies the release or expiry that grants it.

        Raises `LockWaitTimeout` (still held by another at the end; the wait was cancelled) or
        `HeldByYou`.
        """
        if timeout_s < 0:
            raise BadRequest(f"timeout_s must not be negative, not {timeout_s}")
        op = locks.Acquire(
            lock=check_key(name), owner=check_key(owner), ttl_ms=_ttl_ms(ttl_s), wait=True
        )
        left_s = timeout_s
        while True:
            wait_s = min(left_s, WAIT_S_MAX)
            result = await self._lock_write(op, wait_ms=max(1, round(wait_s * 1000)))
            if result.granted:
                return _info(result)
            left_s -= wait_s
            if left_s <= 0:
                raise LockWaitTimeout(_info(result))

    async def lock_whose(self, name: str, consistency: Consistency = "linearizable") -> LeaseInfo:
        """Who holds lock `name`, with which token, for how long (leaseWhose)."""
        op = route(LOCKS, locks.encode_op(locks.Whose(lock=check_key(name))))
        answer = await self._call("read", op, linearizable=consistency == "linearizable")
        return _info(_lock_result(answer))

    async def lock_refresh(self, name: str, owner: str, token: int, ttl_s: float) -> LeaseInfo:
        """Extend the lease to `ttl_s` from now (leaseRefresh). Raises `NotHolder` if `owner`
        and `token` are not the current grant (it expired, or was released)."""
        op = locks.Refresh(
            lock=check_key(name), owner=check_key(owner), token=token, ttl_ms=_ttl_ms(ttl_s)
        )
        return _info(await self._lock_write(op))

    async def lock_release(self, name: str, owner: str, token: int) -> LeaseInfo:
        """Release the lease (leaseRelease); the first waiter is granted it at once. The lock's
        state after. Raises `NotHolder`."""
        op = locks.Release(lock=check_key(name), owner=check_key(owner), token=token)
        return _info(await self._lock_write(op))

    async def lock_cancel(self, name: str, owner: str) -> LeaseInfo:
        """Leave the line of lock `name` (a `lock_wait` given up on); nothing if `owner` is
        not waiting. The lock's state after."""
        op = locks.Cancel(lock=check_key(name), owner=check_key(owner))
        return _info(await self._lock_write(op))

    def lock(
        self, name: str, ttl_s: float, *, owner: str | None = None, timeout_s: float = 60.0
    ) -> LockContext:
        """`async with client.lock(name, ttl_s) as lease:` waits up to `timeout_s` for the lock
        (0: do not wait), refreshes it every `ttl_s / 3` in the background, and releases it on
        exit. `lease.token` fences writes; `lease.lost` (an `asyncio.Event`) is set as soon as
        the lease may have ended. Raises like `lock_wait` / `lock_get` on entry."""
        check_key(name)
        _ttl_ms(ttl_s)
        return LockContext(self, name, owner or default_owner(), ttl_s, timeout_s)

    def campaign(
        self,
        role: str,
        *,
        on_elected: Callable[[int], Awaitable[None] | None],
        on_lease_end: Callable[[], Awaitable[None] | None],
        ttl_s: float = 10.0,
        owner: str | None = None,
    ) -> Campaign:
        """Run for `role` in the background: one leader at a time, holding the lease
        `election/{role}`. `on_elected(token)` is called when this candidate becomes leader
        (the token fences its writes), `on_lease_end()` when its lease is lost or it resigns;
        then it runs again. Stop with `await campaign.resign()`."""
        check_key(ELECTION_PREFIX + role)
        _ttl_ms(ttl_s)
        return Campaign(
            self,
            role,
            owner=owner or default_owner(),
            ttl_s=ttl_s,
            on_elected=on_elected,
            on_lease_end=on_lease_end,
        )

    async def leader(self, role: str) -> str | None:
        """The owner leading `role` now, or None."""
        return (await self.lock_whose(ELECTION_PREFIX + role)).holder

    # ---- fenced writes --------------------------------------------------------------------
    async def _fenced(self, lock: str, token: int, op: Put | Delete) -> KvResult:
        guarded = locks.Guarded(lock=check_key(lock), token=token, op=encode_kv_op(op))
        result = await self._lock_write(guarded)
        if result.protected is None:
            raise PyxosError("a fenced write was answered without the store's result")
        return decode_kv_result(result.protected)

    async def put_fenced(
        self, key: str | bytes, value: Value, *, lock: str, token: int
    ) -> bytes | None:
        """Set `key` only if `token` is lock `lock`'s current unexpired grant when the write is
        applied; the previous value. Raises `StaleToken` (nothing written) otherwise."""
        op = Put(key=check_key(key), value=check_value(value))
        return (await self._fenced(lock, token, op)).value

    async def delete_fenced(self, key: str | bytes, *, lock: str, token: int) -> bytes | None:
        """Delete `key` under the same fence as `put_fenced`; the previous value."""
        return (await self._fenced(lock, token, Delete(key=check_key(key)))).value

    # ---- per-key consensus ----------------------------------------------------------------
    async def ask(self, key: str | bytes, value: Value | None = None) -> bytes | None:
        """The value decided for `key`: the first ever proposed. With `value`, propose it (it is
        decided if nothing was); without, only learn (None: nothing decided yet)."""
        k = check_key(key)
        if value is None:
            op = route(ASK, ask.encode_op(ask.Ask(key=k, value=None)))
            answer = await self._call("read", op)
        else:
            op = route(ASK, ask.encode_op(ask.Ask(key=k, value=check_value(value))))
            answer = await self._write_bytes(op)
        result = ask.decode_result(answer)
        if not result.ok:
            raise PyxosError(f"the ask machine refused the command: {result.error}")
        return result.value

    # ---- queues ---------------------------------------------------------------------------
    async def queue_push(self, name: str, item: Value) -> int:
        """Append `item` to queue `name`; the queue's length after."""
        op = queue.Push(queue=check_key(name), item=check_value(item))
        return (await self._queue(op)).length

    async def queue_peek(
        self, name: str, consistency: Consistency = "linearizable"
    ) -> bytes | None:
        """The head of queue `name`, left in place; None if it is empty."""
        op = route(QUEUE, queue.encode_op(queue.Peek(queue=check_key(name))))
        answer = await self._call("read", op, linearizable=consistency == "linearizable")
        return queue.decode_result(answer).item

    async def queue_pop(self, name: str) -> bytes:
        """Take the head of queue `name`. Raises `QueueEmpty`."""
        result = await self._queue(queue.Pop(queue=check_key(name)))
        assert result.item is not None
        return result.item

    async def _queue(self, op: queue.QueueOp) -> queue.QueueResult:
        result = queue.decode_result(await self._write_bytes(route(QUEUE, queue.encode_op(op))))
        if result.error == queue.ERROR_EMPTY:
            raise QueueEmpty(f"queue {op.queue!r} is empty")
        if not result.ok:
            raise PyxosError(f"the queue machine refused the command: {result.error}")
        return result

    # ---- versioned map --------------------------------------------------------------------
    async def map_get(
        self, key: str | bytes, consistency: Consistency = "linearizable"
    ) -> tuple[bytes, int] | None:
        """`(value, version)` of map entry `key`, or None if absent."""
        op = route(MAP, vmap.encode_op(vmap.MapGet(key=check_key(key))))
        answer = await self._call("read", op, linearizable=consistency == "linearizable")
        result = vmap.decode_result(answer)
        if result.error == vmap.ERROR_NOT_FOUND:
            return None
        _map_check(result)
        assert result.value is not None
        return result.value, result.version

    async def map_put(self, key: str | bytes, value: Value, *, version: int | None = None) -> int:
        """Write entry `key`; the new version. With `version`, only if the entry is at that
        version (0: only if absent), else `VersionConflict` and nothing is written."""
        k, v = check_key(key), check_value(value)
        op: vmap.MapOp = (
            vmap.MapPut(key=k, value=v)
            if version is None
            else vmap.MapUpdate(key=k, value=v, version=version)
        )
        return (await self._map(op)).version

    async def map_delete(self, key: str | bytes, *, version: int | None = None) -> bool:
        """Delete entry `key` (at `version`, if given); False if it was absent."""
        result = vmap.decode_result(
            await self._write_bytes(
                route(MAP, vmap.encode_op(vmap.MapDelete(key=check_key(key), version=version)))
            )
        )
        if result.error == vmap.ERROR_NOT_FOUND:
            return False
        _map_check(result)
        return True

    async def _map(self, op: vmap.MapOp) -> vmap.MapResult:
        result = vmap.decode_result(await self._write_bytes(route(MAP, vmap.encode_op(op))))
        _map_check(result)
        return result


def _map_check(result: vmap.MapResult) -> None:
    if result.error == vmap.ERROR_VERSION_CONFLICT:
        raise VersionConflict(result.key, result.version, result.value)
    if not result.ok:
        raise PyxosError(f"the map machine refused the command: {result.error}")
