"""What operators read: `/status`, `/healthz`, `/metrics`, the status page `GET /`, and
`/openapi.json`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from pyxos.runtime.runner import NodeRunner
from pyxos.service.errors import ApiError, Routes, json_response
from pyxos.service.metrics import CONTENT_TYPE, HttpCounters, render_metrics
from pyxos.service.openapi import openapi_document
from pyxos.service.status_page import render_status_page


class AdminRoutes:
    """The handlers, bound to one node's runner and status callable."""

    def __init__(
        self, runner: NodeRunner, status: Callable[[], dict[str, Any]], http: HttpCounters
    ) -> None:
        self._runner = runner
        self._status = status
        self._http = http
        self._openapi: bytes | None = None

    def routes(self) -> Routes:
        return {
            "/": {"GET": self.status_page},
            "/status": {"GET": self.status},
            "/healthz": {"GET": self.healthz},
            "/metrics": {"GET": self.metrics},
            "/openapi.json": {"GET": self.openapi},
        }

    async def status(self, request: web.Request) -> web.Response:
        return json_response(self._status())

    async def healthz(self, request: web.Request) -> web.Response:
        runner = self._runner
        if runner.failure is not None or runner.stopped.is_set():
            raise ApiError("unavailable", "the node has stopped")
        # The cluster id lets a launcher tell its own node from another process on the port.
        cluster = self._status().get("cluster")
        return json_response({"ok": True, "node": runner.node_id, "cluster": cluster})

    async def metrics(self, request: web.Request) -> web.Response:
        text = render_metrics(self._status(), self._http)
        return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})

    async def status_page(self, request: web.Request) -> web.Response:
        page = render_status_page(self._status())
        return web.Response(text=page, content_type="text/html", charset="utf-8")

    async def openapi(self, request: web.Request) -> web.Response:
        if self._openapi is None:  # built on first use: most nodes are never asked
            self._openapi = msgspec.json.encode(openapi_document())
        return web.Response(body=self._openapi, content_type="application/json")
