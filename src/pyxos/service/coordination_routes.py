"""Per-key consensus, FIFO queues and a versioned map over HTTP.

- `POST /v1/ask/{key}` with the proposed value as the raw body: the first value ever proposed
  for the key is decided, and every caller gets it back -> `{"key", "value", "decided_now"}`
  (`decided_now`: this call's value was the one decided).
- `GET /v1/ask/{key}`: learn only -> `{"key", "value"}`, or 404 `not_decided`.
- `POST /v1/queues/{name}` with the item as the raw body: push -> `{"queue", "length"}`.
- `GET /v1/queues/{name}`: peek -> `{"queue", "item", "length"}`, or 404 `queue_empty`.
- `DELETE /v1/queues/{name}`: pop the head -> `{"queue", "item", "length"}` (length after the
  pop), or 404 `queue_empty`.
- `GET /v1/map/{key}` -> `{"key", "value", "version"}`, or 404 `key_not_found`.
- `PUT /v1/map/{key}` with the raw value, `?version=N` to update only if the entry is at version
  N (0: only if absent) -> `{"key", "version"}` (the new version), or 409 `version_conflict`
  with the current `version` (0: absent) and `value`.
- `DELETE /v1/map/{key}`, `?version=N` to delete only at that version -> `{"key", "version",
  "value"}` (what was deleted), 404 `key_not_found`, or 409 `version_conflict`.

Values that are not UTF-8 come back base64-encoded with an `encoding` field beside them, as in
the key-value API. `GET`s take `?consistency=stale`.
"""

from __future__ import annotations

from aiohttp import web

from pyxos.machines import ask, queue, vmap
from pyxos.machines.catalog import ASK, MAP, QUEUE
from pyxos.machines.router import route
from pyxos.runtime.runner import NodeRunner
from pyxos.service.errors import ApiError, Routes, json_response
from pyxos.service.inputs import (
    VALUE_BYTES_MAX,
    linearizable,
    path_key,
    query_int,
    read_body,
    value_fields,
)

VERSION_MAX = (1 << 63) - 1


def _internal(error: str | None) -> ApiError:
    return ApiError("internal", f"the state machine refused the command: {error}")


class CoordinationRoutes:
    """The `/v1/ask`, `/v1/queues` and `/v1/map` handlers, bound to one node's runner."""

    def __init__(self, runner: NodeRunner) -> None:
        self._runner = runner

    def routes(self) -> Routes:
        return {
            "/v1/ask/{key:.+}": {"POST": self.propose, "GET": self.learn},
            "/v1/queues/{key:.+}": {"POST": self.push, "GET": self.peek, "DELETE": self.pop},
            "/v1/map/{key:.+}": {"GET": self.map_get, "PUT": self.map_put, "DELETE": self.map_del},
        }

    # ---- ask ------------------------------------------------------------------------------
    async def propose(self, request: web.Request) -> web.Response:
        key = path_key(request)
        value = await read_body(request, VALUE_BYTES_MAX)
        op = route(ASK, ask.encode_op(ask.Ask(key=key, value=value)))
        result = ask.decode_result(await self._runner.write(op))
        if not result.ok:
            raise _internal(result.error)
        return json_response(
            {
                "key": key,
                **value_fields("value", "encoding", result.value),
                "decided_now": result.decided_now,
            }
        )

    async def learn(self, request: web.Request) -> web.Response:
        key = path_key(request)
        op = route(ASK, ask.encode_op(ask.Ask(key=key, value=None)))
        result = ask.decode_result(await self._runner.read(op, linearizable=linearizable(request)))
        if not result.ok:
            raise _internal(result.error)
        if result.value is None:
            raise ApiError("not_decided", f"no value was proposed for {key!r}")
        return json_response({"key": key, **value_fields("value", "encoding", result.value)})

    # ---- queues ---------------------------------------------------------------------------
    async def push(self, request: web.Request) -> web.Response:
        name = path_key(request)
        item = await read_body(request, VALUE_BYTES_MAX)
        op = route(QUEUE, queue.encode_op(queue.Push(queue=name, item=item)))
        result = queue.decode_result(await self._runner.write(op))
        if not result.ok:
            raise _internal(result.error)
        return json_response({"queue": name, "length": result.length})

    async def peek(self, request: web.Request) -> web.Response:
        name = path_key(request)
        op = route(QUEUE, queue.encode_op(queue.Peek(queue=name)))
        result = queue.decode_result(
            await self._runner.read(op, linearizable=linearizable(request))
        )
        return self._item(name, result)

    async def pop(self, request: web.Request) -> web.Response:
        name = path_key(request)
        op = route(QUEUE, queue.encode_op(queue.Pop(queue=name)))
        return self._item(name, queue.decode_result(await self._runner.write(op)))

    def _item(self, name: str, result: queue.QueueResult) -> web.Response:
        if result.error == queue.ERROR_EMPTY or (result.ok and result.item is None):
            raise ApiError("queue_empty", f"queue {name!r} is empty")
        if not result.ok:
            raise _internal(result.error)
        return json_response(
            {
                "queue": name,
                **value_fields("item", "encoding", result.item),
                "length": result.length,
            }
        )

    # ---- versioned map --------------------------------------------------------------------
    def _version(self, request: web.Request) -> int | None:
        if "version" not in request.query:
            return None
        return query_int(request, "version", default=0, low=0, high=VERSION_MAX)

    async def map_get(self, request: web.Request) -> web.Response:
        key = path_key(request)
        op = route(MAP, vmap.encode_op(vmap.MapGet(key=key)))
        result = vmap.decode_result(await self._runner.read(op, linearizable=linearizable(request)))
        return self._entry(result)

    async def map_put(self, request: web.Request) -> web.Response:
        key = path_key(request)
        version = self._version(request)
        value = await read_body(request, VALUE_BYTES_MAX)
        change: vmap.MapOp = (
            vmap.MapPut(key=key, value=value)
            if version is None
            else vmap.MapUpdate(key=key, value=value, version=version)
        )
        result = vmap.decode_result(await self._runner.write(route(MAP, vmap.encode_op(change))))
        self._check(result)
        return json_response({"key": key, "version": result.version})

    async def map_del(self, request: web.Request) -> web.Response:
        key = path_key(request)
        op = vmap.MapDelete(key=key, version=self._version(request))
        result = vmap.decode_result(await self._runner.write(route(MAP, vmap.encode_op(op))))
        return self._entry(result)

    def _check(self, result: vmap.MapResult) -> None:
        if result.ok:
            return
        if result.error == vmap.ERROR_NOT_FOUND:
            raise ApiError("key_not_found", f"no entry {result.key!r}")
        if result.error == vmap.ERROR_VERSION_CONFLICT:
            raise ApiError(
                "version_conflict",
                f"entry {result.key!r} is at version {result.version}",
                extra={
                    "version": result.version,
                    **value_fields("value", "encoding", result.value),
                },
            )
        raise _internal(result.error)

    def _entry(self, result: vmap.MapResult) -> web.Response:
        self._check(result)
        return json_response(
            {
                "key": result.key,
                **value_fields("value", "encoding", result.value),
                "version": result.version,
            }
        )
