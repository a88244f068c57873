"""The HTTP API of a node (aiohttp): the key-value store, status and health.

Routes:

- `GET /v1/kv/{key}`: `{"key": ..., "value": ...}`; linearizable by default,
  `?consistency=stale` reads this node's state at once. A value that is not UTF-8 is returned
  base64-encoded with `"encoding": "base64"`. 404 `key_not_found` if the key is absent.
- `PUT /v1/kv/{key}`: the raw request body is the value. Answers `{"key", "previous"}` (the
  value it replaced, or null).
- `DELETE /v1/kv/{key}`: answers `{"key", "deleted", "previous"}`.
- `GET /status`: node, role, leader, ballot, decided and applied index, peers, counters.
- `GET /healthz`: 200 `{"ok": true, "node": ..., "cluster": ...}` while the node runs.

Every error is JSON, `{"code": ..., "message": ...}`, with a stable code: `bad_request` (400),
`not_found` / `key_not_found` (404), `method_not_allowed` (405), `too_large` (413: a key over
1 KiB or a value over 1 MiB), `unavailable` / `no_quorum` (503), `timeout` (504). After
`timeout` and `no_quorum` the outcome of a write is unknown: it may still be applied.

Every node serves every route: writes are forwarded to the leader by the node itself, and
linearizable reads are served locally after a read index confirmed through the leader.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from pyxos.machines.kv import Delete, Get, KvResult, Put, decode_result, encode_op
from pyxos.runtime.config import HostPort
from pyxos.runtime.runner import NodeRunner, RequestTimeout, Unavailable

log = logging.getLogger(__name__)

KEY_BYTES_MAX = 1024
VALUE_BYTES_MAX = 1024 * 1024

_JSON = msgspec.json.Encoder()
_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    503: "unavailable",
    504: "timeout",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error answer: HTTP `status`, stable `code`, human `message`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=_JSON.encode(body), status=status, content_type="application/json")


def error_response(status: int, code: str, message: str) -> web.Response:
    return json_response({"code": code, "message": message}, status=status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except RequestTimeout as exc:
        if exc.leader_known:
            return error_response(504, "timeout", f"{exc}; the outcome is unknown")
        return error_response(503, "no_quorum", f"no leader is established; {exc}")
    except Unavailable as exc:
        return error_response(503, "unavailable", str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(exc.status, _CODES.get(exc.status, "http_error"), exc.reason)
        allow = exc.headers.get("Allow")
        if allow is not None:
            response.headers["Allow"] = allow
        return response


def _key(request: web.Request) -> str:
    key = request.match_info["key"]
    try:
        size = len(key.encode())
    except UnicodeEncodeError:
        raise ApiError(400, "bad_request", "the key is not valid UTF-8") from None
    if size > KEY_BYTES_MAX:
        raise ApiError(413, "too_large", f"key of {size} bytes; the limit is {KEY_BYTES_MAX}")
    return key


def _value_fields(name: str, encoding_field: str, value: bytes | None) -> dict[str, Any]:
    if value is None:
        return {name: None}
    try:
        return {name: value.decode()}
    except UnicodeDecodeError:
        return {name: base64.b64encode(value).decode(), encoding_field: "base64"}


def _check(result: KvResult) -> KvResult:
    if result.error is not None:
        # Only a bug (ours) makes a command the state machine cannot decode.
        raise ApiError(500, "internal", f"the state machine refused the command: {result.error}")
    return result


class KvApi:
    """The handlers, bound to one node's runner."""

    def __init__(self, runner: NodeRunner, status: Callable[[], dict[str, Any]]) -> None:
        self._runner = runner
        self._status = status

    async def get(self, request: web.Request) -> web.Response:
        key = _key(request)
        consistency = request.query.get("consistency", "linearizable")
        if consistency not in ("linearizable", "stale"):
            raise ApiError(
                400,
                "bad_request",
                f"consistency must be linearizable or stale, not {consistency!r}",
            )
        answer = await self._runner.read(
            encode_op(Get(key=key)), linearizable=consistency == "linearizable"
        )
        result = _check(decode_result(answer))
        if result.value is None:
            raise ApiError(404, "key_not_found", f"no key {key!r}")
        return json_response({"key": key, **_value_fields("value", "encoding", result.value)})

    async def put(self, request: web.Request) -> web.Response:
        key = _key(request)
        length = request.content_length
        if length is not None and length > VALUE_BYTES_MAX:
            raise ApiError(
                413, "too_large", f"value of {length} bytes; the limit is {VALUE_BYTES_MAX}"
            )
        value = await request.read()  # aiohttp refuses a body over client_max_size (413)
        result = _check(
            decode_result(await self._runner.write(encode_op(Put(key=key, value=value))))
        )
        return json_response(
            {"key": key, **_value_fields("previous", "previous_encoding", result.value)}
        )

    async def delete(self, request: web.Request) -> web.Response:
        key = _key(request)
        result = _check(decode_result(await self._runner.write(encode_op(Delete(key=key)))))
        return json_response(
            {
                "key": key,
                "deleted": result.value is not None,
                **_value_fields("previous", "previous_encoding", result.value),
            }
        )

    async def status(self, request: web.Request) -> web.Response:
        return json_response(self._status())

    async def healthz(self, request: web.Request) -> web.Response:
        runner = self._runner
        if runner.failure is not None or runner.stopped.is_set():
            raise ApiError(503, "unavailable", "the node has stopped")
        # The cluster id lets a launcher tell its own node from another process on the port.
        cluster = self._status().get("cluster")
        return json_response({"ok": True, "node": runner.node_id, "cluster": cluster})


def build_app(runner: NodeRunner, status: Callable[[], dict[str, Any]]) -> web.Application:
    api = KvApi(runner, status)
    app = web.Application(client_max_size=VALUE_BYTES_MAX, middlewares=[_errors])
    router = app.router
    router.add_get("/v1/kv/{key:.+}", api.get)
    router.add_put("/v1/kv/{key:.+}", api.put)
    router.add_delete("/v1/kv/{key:.+}", api.delete)
    router.add_get("/status", api.status)
    router.add_get("/healthz", api.healthz)
    return app


async def serve(app: web.Application, address: HostPort) -> web.AppRunner:
    """Start serving `app` on `address`; the caller `cleanup()`s the returned runner."""
    app_runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await app_runner.setup()
    # Requests still open at shutdown were already answered by the stopping runner; a client
    # that sends nothing more must not hold the process for aiohttp's default 60 s.
    site = web.TCPSite(
        app_runner, address.host, address.port, reuse_address=True, shutdown_timeout=2.0
    )
    await site.start()
    return app_runner
