"""JSON errors with stable codes, and the middleware that turns every failure into one.

Every error a client can get is listed in `ERRORS` (code -> HTTP status, meaning): raising an
`ApiError` with a code that is not there is a bug caught at once, and the OpenAPI document and
docs/api.md are written from the same table, so a new code cannot go undocumented. The codes of
`pyxos.errors` (what the runtime raises, and the Python clients raise) are the same strings.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from aiohttp import web

from pyxos.errors import NoQuorum, Timeout, Unavailable, UnsupportedByProtocol

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Routes = dict[str, dict[str, Handler]]
"""Route path -> method -> handler: what each route module offers for the app to register."""

ERRORS: Mapping[str, tuple[int, str]] = {
    "bad_request": (400, "a query parameter is invalid, or a key in the path is not UTF-8"),
    "malformed_json": (400, "the body is not JSON, or not UTF-8"),
    "invalid_body": (
        400,
        "the JSON body is not an object, or a field is missing, unknown, of the wrong type, "
        "empty where it may not be, or not valid base64",
    ),
    "bad_header": (
        400,
        "`Cid` must be an integer >= 0 and `Id` printable ASCII, agreeing with the command's "
        "`ClientID`/`CommandID`; `Pyxos-Session: exactly-once` needs both, `Id` not empty and "
        "`Cid` >= 1",
    ),
    "bad_file_name": (400, "the log file name is not one safe path segment"),
    "not_found": (404, "no such route"),
    "key_not_found": (404, "the key is absent"),
    "fault_injection_disabled": (
        404,
        "`/crash` and the fault routes are served only with fault injection enabled",
    ),
    "queue_empty": (404, "the queue holds no item"),
    "not_decided": (404, "no value has been proposed for this key yet"),
    "method_not_allowed": (405, "the route exists with other methods (see the `Allow` header)"),
    "cas_mismatch": (409, "compare-and-set: the current value is not the expected one"),
    "stale_command": (
        409,
        "an exactly-once session: this `Id` already applied a later `Cid`; the command is not "
        "applied",
    ),
    "lock_held": (
        409,
        "another owner holds the lock (still, at the end of the wait if the request waited)",
    ),
    "held_by_you": (409, "the owner already holds the lock; refresh it instead"),
    "not_holder": (
        409,
        "the owner and token are not the lock's current grant (released, expired or never held)",
    ),
    "stale_token": (
        409,
        "a fenced write's token is not the lock's current unexpired grant; nothing was written",
    ),
    "version_conflict": (409, "the entry's version is not the one given; nothing was written"),
    "unsupported_by_protocol": (
        409,
        "the cluster's protocol cannot run this with its guarantee (under wpaxos: a fenced "
        "write, a linearizable listing); `protocol` names it; nothing was done",
    ),
    "too_large": (413, "a key over 1 KiB, a value over 1 MiB or a body over its limit"),
    "internal": (500, "a bug in the node; the outcome of a write is unknown"),
    "unavailable": (503, "the node is stopping or its queues are full; nothing was done"),
    "no_quorum": (
        503,
        "the node cannot reach a quorum (`unreachable` lists the nodes it cannot reach) or no "
        "leader was established before the deadline; a write's outcome is unknown",
    ),
    "timeout": (504, "no answer before the deadline; a write's outcome is unknown"),
}
"""Every error code, its HTTP status and what it means."""

# aiohttp's own refusals (before any handler runs) get the closest code of ours.
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}

_JSON = msgspec.json.Encoder()


class ApiError(Exception):
    """An error answer with a stable `code` from `ERRORS` and a human `message`.

    `extra` adds fields to the JSON body (e.g. `current` for `cas_mismatch`); `headers` are
    added to the response (e.g. `Allow` for `method_not_allowed`).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = ERRORS[code][0]  # a KeyError here is a missing entry in ERRORS
        self.code = code
        self.message = message
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=_JSON.encode(body), status=status, content_type="application/json", headers=headers
    )


def error_response(error: ApiError) -> web.Response:
    body = {"code": error.code, "message": error.message, **error.extra}
    return json_response(body, status=error.status, headers=error.headers)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every failure as JSON with a code from `ERRORS`."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc)
    except NoQuorum as exc:
        extra = {"unreachable": list(exc.unreachable)}
        return error_response(ApiError("no_quorum", _with_outcome(exc), extra=extra))
    except Timeout as exc:
        return error_response(ApiError("timeout", _with_outcome(exc)))
    except Unavailable as exc:
        return error_response(ApiError("unavailable", str(exc)))
    except UnsupportedByProtocol as exc:
        protocol = {"protocol": exc.protocol}
        return error_response(ApiError("unsupported_by_protocol", str(exc), extra=protocol))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "bad_request" if exc.status < 500 else "internal")
        error = ApiError(code, exc.reason)
        error.status = exc.status  # keep aiohttp's exact status (e.g. 411)
        allow = exc.headers.get("Allow")
        if allow is not None:
            error.headers["Allow"] = allow
        return error_response(error)
    except Exception:
        # A bug of ours: log it whole, answer JSON, keep serving.
        log.exception("request %s %s failed", request.method, request.path)
        return error_response(ApiError("internal", "internal error; see the node's log"))


def _with_outcome(exc: Timeout) -> str:
    # A write carries its session (`request_id`); a read changed nothing either way.
    if exc.request_id is None:
        return str(exc)
    return f"{exc}; the outcome is unknown: the write may still be applied"


def add_resource(router: web.UrlDispatcher, path: str, handlers: Mapping[str, Handler]) -> None:
    """Register `path` with a handler per method, and a 405 for every other method.

    The 405 makes the resource answer every method on its path itself, so that the Paxi
    catch-all `/{key}` can never take, say, `POST /status` as a write to the key "status".
    """
    resource = router.add_resource(path)
    for method, handler in handlers.items():
        resource.add_route(method, handler)
    allow = ", ".join(sorted(handlers))

    async def not_allowed(request: web.Request) -> web.StreamResponse:
        raise ApiError(
            "method_not_allowed",
            f"{request.method} is not allowed here; use {allow}",
            headers={"Allow": allow},
        )

    resource.add_route("*", not_allowed)
