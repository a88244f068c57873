"""The versioned key-value API: `/v1/kv/{key}`, compare-and-set and prefix listing.

- `GET /v1/kv/{key}` -> `{"key", "value"}` (404 `key_not_found`); `?consistency=stale` reads
  this node's state at once instead of after a read index.
- `PUT /v1/kv/{key}` with the raw value as body -> `{"key", "previous"}`.
- `DELETE /v1/kv/{key}` -> `{"key", "deleted", "previous"}`.
- `POST /v1/cas/{key}` with `{"expected": str | null, "value": str, "encoding"?}` -> 200
  `{"key", "ok": true, "previous"}`, or 409 `cas_mismatch` with the `current` value.
- `GET /v1/kv?prefix=P&limit=N&after=K` -> `{"items": [{"key", "value"}...], "truncated",
  "next"}`: the keys greater than `after`; `next` is the last key listed when `truncated`
  (pass it as `after` for the next page), else null.
- A `PUT` or `DELETE` with `?lock=NAME&token=T` is fenced: it is applied only if `T` is the
  current unexpired grant of lock `NAME` when the write reaches the log, else 409
  `stale_token` and nothing is written (see `service.lock_routes`).

A value that is not UTF-8 comes back base64-encoded, flagged by an `encoding` field beside it
(`previous_encoding`, `current_encoding`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from pyxos.machines.kv import Delete, Put
from pyxos.service.errors import ApiError, Routes, json_response
from pyxos.service.inputs import (
    KEY_BYTES_MAX,
    VALUE_BYTES_MAX,
    Encoding,
    check_key,
    decode_value,
    linearizable,
    path_key,
    query_int,
    read_body,
    read_json,
    value_fields,
)
from pyxos.service.kv_ops import KvStore

LIST_LIMIT_DEFAULT = 1000
LIST_LIMIT_MAX = 10_000
TOKEN_MAX = (1 << 63) - 1


def fence(request: web.Request) -> tuple[str, int] | None:
    """`(lock, token)` from `?lock=NAME&token=T`, None without either; both or neither."""
    lock = request.query.get("lock")
    if lock is None and "token" not in request.query:
        return None
    if lock is None or "token" not in request.query:
        raise ApiError("bad_request", "a fenced write needs both lock and token")
    token = query_int(request, "token", default=0, low=0, high=TOKEN_MAX)
    return check_key(lock), token


class CasBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`expected` is required; null means the key must be absent."""

    expected: str | None
    value: str
    encoding: Encoding = "utf-8"


class KvRoutes:
    """The `/v1` handlers, bound to one node's store."""

    def __init__(self, store: KvStore) -> None:
        self._store = store

    def routes(self) -> Routes:
        return {
            "/v1/kv": {"GET": self.list},
            "/v1/kv/{key:.+}": {"GET": self.get, "PUT": self.put, "DELETE": self.delete},
            "/v1/cas/{key:.+}": {"POST": self.cas},
        }

    async def get(self, request: web.Request) -> web.Response:
        key = path_key(request)
        value = await self._store.get(key, linearizable=linearizable(request))
        if value is None:
            raise ApiError("key_not_found", f"no key {key!r}")
        return json_response({"key": key, **value_fields("value", "encoding", value)})

    async def put(self, request: web.Request) -> web.Response:
        key = path_key(request)
        fenced = fence(request)
        value = await read_body(request, VALUE_BYTES_MAX)
        if fenced is not None:
            previous = (await self._store.guarded(fenced, Put(key=key, value=value))).value
        else:
            previous = await self._store.put(key, value)
        return json_response(
            {"key": key, **value_fields("previous", "previous_encoding", previous)}
        )

    async def delete(self, request: web.Request) -> web.Response:
        key = path_key(request)
        fenced = fence(request)
        if fenced is not None:
            previous = (await self._store.guarded(fenced, Delete(key=key))).value
        else:
            previous = await self._store.delete(key)
        return json_response(
            {
                "key": key,
                "deleted": previous is not None,
                **value_fields("previous", "previous_encoding", previous),
            }
        )

    async def cas(self, request: web.Request) -> web.Response:
        key = path_key(request)
        body = await read_json(request, CasBody)
        expected = (
            None
            if body.expected is None
            else decode_value(body.expected, body.encoding, "expected")
        )
        value = decode_value(body.value, body.encoding, "value")
        result = await self._store.cas(key, expected, value)
        if not result.ok:
            raise ApiError(
                "cas_mismatch",
                f"key {key!r} does not hold the expected value",
                extra=value_fields("current", "current_encoding", result.value),
            )
        return json_response(
            {"key": key, "ok": True, **value_fields("previous", "previous_encoding", result.value)}
        )

    async def list(self, request: web.Request) -> web.Response:
        prefix = _query_key(request, "prefix")
        after = _query_key(request, "after")
        limit = query_int(request, "limit", default=LIST_LIMIT_DEFAULT, low=1, high=LIST_LIMIT_MAX)
        answer = await self._store.list(
            prefix, limit, after=after, linearizable=linearizable(request)
        )
        items: list[dict[str, Any]] = [
            {"key": key, **value_fields("value", "encoding", value)} for key, value in answer.items
        ]
        return json_response({"items": items, "truncated": answer.truncated, "next": answer.next})


def _query_key(request: web.Request, name: str) -> str:
    """The query parameter `name` (a key prefix or cursor, "" if absent): UTF-8, at most
    `KEY_BYTES_MAX` bytes, else `ApiError("bad_request")`."""
    text = request.query.get(name, "")
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise ApiError("bad_request", f"the {name} is not valid UTF-8") from None
    if size > KEY_BYTES_MAX:
        raise ApiError("bad_request", f"the {name} is over {KEY_BYTES_MAX} bytes")
    return text
