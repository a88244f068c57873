"""A headless Chromium driven over the DevTools protocol, for the status page's browser test.

No browser-automation package: Chromium is started with `--remote-debugging-port=0`, writes the
port it chose into `DevToolsActivePort` in its profile directory, and the test talks to its
page target over a websocket (aiohttp's client) with three methods: navigate, emulate a phone's
screen, and evaluate an expression. `scripts/ensure-chromium` (run by `make test`) installs
Debian's `chromium` on CI.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

START_DEADLINE_S = 20.0
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)


def chromium_or_skip() -> str:
    """The Chromium executable; skips the test when there is none, but fails on CI, where
    `make test` installs it."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path is not None:
            return path
    message = "no chromium on PATH (scripts/ensure-chromium installs Debian's on CI or as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class Page:
    """One page target of the browser."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> Any:
        request_id = next(self._ids)
        await self._socket.send_json({"id": request_id, "method": method, "params": params})
        while True:  # events arrive in between; the answer carries our id
            message = json.loads(await self._socket.receive_str())
            if message.get("id") == request_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def navigate(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def phone(self, width: int = 390, height: int = 844) -> None:
        """Lay the page out as a phone held upright would."""
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=3,
            mobile=True,
        )

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")


@asynccontextmanager
async def headless_page(profile: Path) -> AsyncIterator[Page]:
    """A fresh Chromium with its profile in `profile`, and its one page; stopped afterwards."""
    executable = chromium_or_skip()
    profile.mkdir(parents=True, exist_ok=True)
    port_file = profile / "DevToolsActivePort"
    port_file.unlink(missing_ok=True)  # a browser that ran here before wrote its own port
    proc = subprocess.Popen(
        [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = await _devtools_port(port_file, proc)
        async with aiohttp.ClientSession() as session:
            target = await _page_target(session, port)
            async with session.ws_connect(target, max_msg_size=0) as socket:
                yield Page(socket)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _devtools_port(path: Path, proc: subprocess.Popen[bytes]) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_DEADLINE_S
    while loop.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with status {proc.returncode} at start")
        lines = path.read_text().splitlines() if path.exists() else []
        if lines and lines[0].isdigit():
            return int(lines[0])
        await asyncio.sleep(0.05)
    raise TimeoutError(f"chromium wrote no {path.name} within {START_DEADLINE_S:g} s")


async def _page_target(session: aiohttp.ClientSession, port: int) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_DEADLINE_S
    while loop.time() < deadline:
        async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        pages = [t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"]
        if pages:
            return str(pages[0])
        await asyncio.sleep(0.05)
    raise TimeoutError("chromium shows no page target")
