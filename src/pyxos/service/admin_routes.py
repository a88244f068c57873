"""What operators read: `/status`, `/healthz`, `/metrics`, the status page `GET /`, the
cluster's view (`GET /v1/cluster/status`, and as server-sent events `GET /v1/cluster/events`,
see `pyxos.service.cluster_view`) and `/openapi.json`; and, with fault injection on, the faults
of `pyxos.runtime.faults`:

- `GET /v1/admin/faults` -> `{"node", "faults": [...], "counters": {...}}`, the active faults;
- `POST /v1/admin/faults` with `{"kind", "duration_s", "peers"?, "delay_ms"?, "p"?}` adds one
  -> `{"ok": true, "node", "fault"}` (400 `invalid_body` for a bad kind, peer or parameter);
- `DELETE /v1/admin/faults` heals every fault now -> `{"ok": true, "node", "healed"}`.

With fault injection off each answers 404 `fault_injection_disabled`, like `/crash`. Paxi's
spelling of the same faults (`/crash?t=`, `/drop`, `/slow`, `/flaky`) goes through `add_fault`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from pyxos.runtime.faults import FaultError, make_fault
from pyxos.runtime.runner import NodeRunner
from pyxos.runtime.status import UNSET, NodeStatus
from pyxos.service.cluster_view import ClusterWatcher
from pyxos.service.errors import ApiError, Routes, json_response
from pyxos.service.inputs import read_json
from pyxos.service.metrics import CONTENT_TYPE, HttpCounters, render_metrics
from pyxos.service.status_page import REFRESH_S, status_page

log = logging.getLogger(__name__)

FAULTS_PATH = "/v1/admin/faults"
CLUSTER_STATUS_PATH = "/v1/cluster/status"
CLUSTER_EVENTS_PATH = "/v1/cluster/events"
EVENTS_RETRY_MS = 2000
# The cluster's view may be read by a status page served by another member (its node died).
_ANY_ORIGIN = {"Access-Control-Allow-Origin": "*"}


class FaultBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: str
    duration_s: float
    peers: list[int] = msgspec.field(default_factory=list)
    delay_ms: int = 0
    p: float = 0.0


def require_fault_injection(enabled: bool, route: str) -> None:
    """Raise 404 `fault_injection_disabled` unless the node was started with it on."""
    if not enabled:
        raise ApiError(
            "fault_injection_disabled", f"{route} is served only with fault injection enabled"
        )


def query_number(request: web.Request, name: str) -> float:
    """The required positive, finite number query parameter `name` (Paxi's `t`, `p`, `delay`)."""
    text = request.query.get(name)
    if text is None:
        raise ApiError("bad_request", f"the query parameter {name} is required")
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not 0 < number < float("inf"):
        raise ApiError("bad_request", f"{name} must be a positive number, not {text!r}")
    return number


def add_fault(
    runner: NodeRunner,
    kind: str,
    *,
    duration_s: float,
    peers: tuple[int, ...] = (),
    delay_ms: int = 0,
    p: float = 0.0,
    code_if_bad: str = "bad_request",
) -> dict[str, Any]:
    """Inject a fault into `runner`'s node; its JSON view. Raises `ApiError(code_if_bad)`."""
    now_s = asyncio.get_running_loop().time()
    try:
        fault = make_fault(
            kind,
            node=runner.node_id,
            members=tuple(runner.node.config.members),
            now_s=now_s,
            duration_s=duration_s,
            peers=peers,
            delay_ms=delay_ms,
            p=p,
        )
    except FaultError as exc:
        raise ApiError(code_if_bad, str(exc)) from None
    runner.faults.add(fault)
    view = fault.describe(now_s)
    log.warning("node=%d fault injected: %s", runner.node_id, view)
    return view


class AdminRoutes:
    """The handlers, bound to one node's runner and status callable."""

    def __init__(
        self,
        runner: NodeRunner,
        status: Callable[[], NodeStatus],
        http: HttpCounters,
        *,
        watcher: ClusterWatcher,
        fault_injection: bool = False,
    ) -> None:
        self._runner = runner
        self._status = status
        self._watcher = watcher
        self._http = http
        self._fault_injection = fault_injection
        self._openapi: bytes | None = None

    def routes(self) -> Routes:
        return {
            "/": {"GET": self.status_page},
            "/status": {"GET": self.status},
            CLUSTER_STATUS_PATH: {"GET": self.cluster_status},
            CLUSTER_EVENTS_PATH: {"GET": self.cluster_events},
            "/healthz": {"GET": self.healthz},
            "/metrics": {"GET": self.metrics},
            "/openapi.json": {"GET": self.openapi},
            FAULTS_PATH: {
                "GET": self.list_faults,
                "POST": self.post_fault,
                "DELETE": self.heal_faults,
            },
        }

    async def list_faults(self, request: web.Request) -> web.Response:
        require_fault_injection(self._fault_injection, FAULTS_PATH)
        now_s = asyncio.get_running_loop().time()
        return json_response({"node": self._runner.node_id, **self._runner.faults.describe(now_s)})

    async def post_fault(self, request: web.Request) -> web.Response:
        require_fault_injection(self._fault_injection, FAULTS_PATH)
        body = await read_json(request, FaultBody)
        view = add_fault(
            self._runner,
            body.kind,
            duration_s=body.duration_s,
            peers=tuple(body.peers),
            delay_ms=body.delay_ms,
            p=body.p,
            code_if_bad="invalid_body",
        )
        return json_response({"ok": True, "node": self._runner.node_id, "fault": view})

    async def heal_faults(self, request: web.Request) -> web.Response:
        require_fault_injection(self._fault_injection, FAULTS_PATH)
        healed = self._runner.faults.heal()
        if healed:
            log.warning("node=%d healed %d faults", self._runner.node_id, healed)
        return json_response({"ok": True, "node": self._runner.node_id, "healed": healed})

    async def status(self, request: web.Request) -> web.Response:
        return json_response(self._status())

    async def cluster_status(self, request: web.Request) -> web.Response:
        return json_response(await self._watcher.view(), headers=_ANY_ORIGIN)

    async def cluster_events(self, request: web.Request) -> web.StreamResponse:
        """The cluster's view every `REFRESH_S` seconds as server-sent events, until the
        client goes away or the node stops."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                **_ANY_ORIGIN,
            }
        )
        await response.prepare(request)
        stopped = self._runner.stopped
        try:
            await response.write(f"retry: {EVENTS_RETRY_MS}\n\n".encode())
            while not stopped.is_set():
                view = msgspec.json.encode(await self._watcher.view())
                await response.write(b"data: " + view + b"\n\n")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopped.wait(), REFRESH_S)
        except (ConnectionResetError, ConnectionError):
            pass  # the page was closed
        return response

    async def healthz(self, request: web.Request) -> web.Response:
        runner = self._runner
        if runner.failure is not None or runner.stopped.is_set():
            raise ApiError("unavailable", "the node has stopped")
        # The cluster id lets a launcher tell its own node from another process on the port.
        cluster = self._status().cluster
        return json_response(
            {"ok": True, "node": runner.node_id, "cluster": None if cluster is UNSET else cluster}
        )

    async def metrics(self, request: web.Request) -> web.Response:
        text = render_metrics(self._status(), self._http)
        return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})

    async def status_page(self, request: web.Request) -> web.Response:
        return web.Response(body=status_page(), content_type="text/html", charset="utf-8")

    async def openapi(self, request: web.Request) -> web.Response:
        if self._openapi is None:  # built on first use: most nodes are never asked
            # Imported here: the document describes the route modules, which import this one.
            from pyxos.service.openapi import openapi_document

            self._openapi = msgspec.json.encode(openapi_document())
        return web.Response(body=self._openapi, content_type="application/json")
