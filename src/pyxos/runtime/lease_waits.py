"""Waiting for a lease: a queued `Acquire(wait=True)` answered when this node applies the grant.

Theory of operation. A leaseWait is one command: `Acquire(wait=True)` is applied once and
either grants the lock at once or appends the owner to the lock's FIFO waiter list. The grant
to a waiter happens later, inside another command's slot: the holder's `Release` (that same
slot grants the first waiter) or the lease's expiry (the leader's clock command reaches the
machine's `advance`). So the waiter never polls: it registers an `on_applied` hook with the
runner, and after each slot this node applies it looks at the lock in the local state
(`query_now`). This node's state is at least as new as the slot that granted, so the first
hook that finds the owner holding the lock answers, with that grant's token and expiry: the
release-to-grant latency is the release's own commit, nothing more.

At the deadline the wait is cancelled through the log (`Cancel`) and the state looked at once
more: a grant that raced the cancel is still a grant and is answered as one (its holder must
release it or let it expire). If the cancel itself cannot be committed (no quorum), the owner
may stay queued and be granted a lease nobody uses; it expires after its TTL.

One blind spot: a node that applies many slots in one step (catching up after a partition)
may apply a grant and that grant's expiry together; the hook then never sees the holder, and
the wait ends at its deadline as not granted, which is the truth by then.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from pyxos.machines.locks import (
    Acquire,
    Cancel,
    LockOp,
    LockResult,
    Whose,
    decode_op,
    decode_result,
)
from pyxos.machines.locks import encode_op as encode_lock_op
from pyxos.machines.router import Routed, route
from pyxos.runtime.requests import RequestTimeout, Unavailable
from pyxos.runtime.runner import NodeRunner

log = logging.getLogger(__name__)

LOCKS = "locks"
"""The name the lock machine is registered under (`pyxos.machines.catalog`)."""

_ROUTED = msgspec.msgpack.Decoder(Routed)


def unrouted(op: bytes, machine: str) -> bytes | None:
    """The operation inside `op` if it is routed to `machine`, else None."""
    try:
        routed = _ROUTED.decode(op)
    except ValueError:
        return None
    return routed.op if routed.machine == machine else None


def lock_op(op: LockOp) -> bytes:
    """A lock machine operation, routed to it."""
    return route(LOCKS, encode_lock_op(op))


def waited_acquire(op: bytes) -> Acquire | None:
    """The `Acquire(wait=True)` that the routed `op` carries, or None if it is anything else."""
    inner = unrouted(op, LOCKS)
    if inner is None:
        return None
    try:
        decoded = decode_op(inner)
    except ValueError:
        return None
    return decoded if isinstance(decoded, Acquire) and decoded.wait else None


async def acquire(
    runner: NodeRunner, request: Acquire, *, wait_ms: int, session: tuple[int, int] | None = None
) -> LockResult:
    """Run `request` through the log; if it queued (`wait=True` and the lock is held), wait up
    to `wait_ms` for the grant. Raises what `NodeRunner.write` raises."""
    answer = decode_result(await runner.write(lock_op(request), session=session))
    if not answer.ok or answer.granted or not request.wait:
        return answer
    return await wait_for_grant(runner, request.lock, request.owner, wait_ms / 1000)


async def wait_for_grant(runner: NodeRunner, lock: str, owner: str, wait_s: float) -> LockResult:
    """The grant of `lock` to `owner` (`granted=True`), as soon as this node applies it; or,
    after `wait_s`, the lock's state once the wait is cancelled (`granted=False`)."""
    whose = lock_op(Whose(lock=lock))
    granted: asyncio.Future[LockResult] = asyncio.get_running_loop().create_future()

    def check() -> None:
        if granted.done():
            return
        state = decode_result(runner.query_now(whose))
        if state.holder == owner:
            granted.set_result(msgspec.structs.replace(state, granted=True))

    remove = runner.on_applied(check)
    try:
        check()  # granted already, between the queued answer and now
        async with asyncio.timeout(max(0.0, wait_s)):
            return await granted
    except TimeoutError:
        pass
    finally:
        remove()
    try:
        await runner.write(lock_op(Cancel(lock=lock, owner=owner)))
    except (RequestTimeout, Unavailable) as exc:
        log.warning(
            "node=%d could not cancel the wait of %r for lock %r: %s",
            runner.node_id,
            owner,
            lock,
            exc,
        )
    state = decode_result(runner.query_now(whose))
    return msgspec.structs.replace(state, granted=state.holder == owner)
