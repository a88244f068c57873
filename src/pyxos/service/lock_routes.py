"""Leases on named locks over HTTP: `/v1/locks/{name}` (paxosd's leaseGet, leaseWhose,
leaseRefresh, leaseWait, leaseRelease).

- `POST /v1/locks/{name}` with `{"owner", "ttl_ms", "wait"?, "timeout_ms"?}`: acquire. Without
  `wait` it fails at once with 409 `lock_held` if another owner holds the lock; with `wait` the
  owner queues (FIFO) and the answer comes when the lock is granted to it (a release or an
  expiry hands it over in the same command, and this node answers as soon as it applies that
  command), or after `timeout_ms` with 409 `lock_held` (the wait is then cancelled).
  -> `{"lock", "holder", "token", "expires_ms", "remaining_ms", "granted": true}`.
- `GET /v1/locks/{name}` -> `{"lock", "holder", "token", "expires_ms", "remaining_ms",
  "waiting"}`
  (`holder` null: free); `?consistency=stale` answers from this node's state at once.
- `PUT /v1/locks/{name}` with `{"owner", "token", "ttl_ms"}`: refresh (holder only, else 409
  `not_holder`); the lease then ends `ttl_ms` after the refresh.
- `DELETE /v1/locks/{name}` with `{"owner", "token"}`: release (holder only, else 409
  `not_holder`); the first waiter is granted the lock at once.

`token` is the fencing token of the grant: strictly increasing across grants. A lease cannot
give mutual exclusion to a holder that pauses past its expiry; a write fenced with the token
(`PUT /v1/kv/{key}?lock=NAME&token=T`) is refused with `stale_token` once the grant is not the
current one, which keeps the protected data safe. Times are log time in ms (the leader's clock
stamped on commands): `expires_ms` is comparable only with other answers' log times,
`remaining_ms` is what was left when the command (or, for a query, the last command) applied.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from pyxos.machines.locks import (
    ERROR_HELD,
    ERROR_HELD_BY_YOU,
    ERROR_NOT_HOLDER,
    TTL_MS_MAX,
    Acquire,
    LockResult,
    Refresh,
    Release,
    Whose,
    decode_result,
)
from pyxos.runtime.lease_waits import acquire, lock_op
from pyxos.runtime.runner import NodeRunner
from pyxos.service.errors import ApiError, Routes, json_response
from pyxos.service.inputs import check_key, linearizable, path_key, read_json

WAIT_MS_MAX = 10 * 60 * 1000
"""The longest a `wait` may last in one request: ten minutes (ask again for longer)."""


class AcquireBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    owner: str
    ttl_ms: int
    wait: bool = False
    timeout_ms: int = 0


class RefreshBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    owner: str
    token: int
    ttl_ms: int


class ReleaseBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    owner: str
    token: int


def lease_fields(result: LockResult) -> dict[str, Any]:
    return {
        "lock": result.lock,
        "holder": result.holder,
        "token": result.token if result.holder is not None else None,
        "expires_ms": result.expires_ms if result.holder is not None else None,
        "remaining_ms": result.remaining_ms if result.holder is not None else None,
        "waiting": result.waiting,
    }


def _owner(owner: str) -> str:
    return check_key(owner, code_if_bad="invalid_body")


def _ttl(ttl_ms: int) -> int:
    if not 1 <= ttl_ms <= TTL_MS_MAX:
        raise ApiError("invalid_body", f"ttl_ms must be between 1 and {TTL_MS_MAX}, not {ttl_ms}")
    return ttl_ms


_REFUSALS = {
    ERROR_HELD: ("lock_held", "is held by another owner"),
    ERROR_HELD_BY_YOU: ("held_by_you", "is already yours; refresh it instead"),
    ERROR_NOT_HOLDER: ("not_holder", "is not held by this owner under this token"),
}


def refusal(result: LockResult) -> ApiError:
    """The HTTP error for a lock operation the machine refused."""
    known = _REFUSALS.get(result.error or "")
    if known is None:
        return ApiError("internal", f"the lock machine refused the command: {result.error}")
    code, why = known
    return ApiError(code, f"lock {result.lock!r} {why}", extra=lease_fields(result))


class LockRoutes:
    """The `/v1/locks` handlers, bound to one node's runner."""

    def __init__(self, runner: NodeRunner) -> None:
        self._runner = runner

    def routes(self) -> Routes:
        return {
            "/v1/locks/{key:.+}": {
                "POST": self.acquire,
                "GET": self.whose,
                "PUT": self.refresh,
                "DELETE": self.release,
            }
        }

    async def _run(self, op: Acquire | Refresh | Release) -> LockResult:
        result = decode_result(await self._runner.write(lock_op(op)))
        if not result.ok:
            raise refusal(result)
        return result

    async def acquire(self, request: web.Request) -> web.Response:
        name = path_key(request)
        body = await read_json(request, AcquireBody)
        if not 0 <= body.timeout_ms <= WAIT_MS_MAX:
            raise ApiError(
                "invalid_body",
                f"timeout_ms must be between 0 and {WAIT_MS_MAX}, not {body.timeout_ms}",
            )
        op = Acquire(lock=name, owner=_owner(body.owner), ttl_ms=_ttl(body.ttl_ms), wait=body.wait)
        result = await acquire(self._runner, op, wait_ms=body.timeout_ms)
        if not result.ok:
            raise refusal(result)
        if not result.granted:
            raise ApiError(
                "lock_held",
                f"lock {name!r} is still held by another after waiting {body.timeout_ms} ms",
                extra=lease_fields(result),
            )
        return json_response({**lease_fields(result), "granted": True})

    async def whose(self, request: web.Request) -> web.Response:
        name = path_key(request)
        answer = await self._runner.read(
            lock_op(Whose(lock=name)), linearizable=linearizable(request)
        )
        result = decode_result(answer)
        if not result.ok:
            raise refusal(result)
        return json_response(lease_fields(result))

    async def refresh(self, request: web.Request) -> web.Response:
        name = path_key(request)
        body = await read_json(request, RefreshBody)
        op = Refresh(
            lock=name, owner=_owner(body.owner), token=body.token, ttl_ms=_ttl(body.ttl_ms)
        )
        return json_response(lease_fields(await self._run(op)))

    async def release(self, request: web.Request) -> web.Response:
        name = path_key(request)
        body = await read_json(request, ReleaseBody)
        result = await self._run(Release(lock=name, owner=_owner(body.owner), token=body.token))
        return json_response({**lease_fields(result), "released": True})
