"""`/crash` in a real process: the answer arrives, then the process is gone with status 75.

The node runs in a child process (one member, an in-memory log) with `fault_injection=True`;
the test talks to it over real HTTP and polls with deadlines, never sleeping on a guess.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyxos.service.gopaxos_routes import EXIT_CRASH

DEADLINE_S = 20.0
POLL_S = 0.02

CHILD = """
import asyncio, sys
from pathlib import Path
from random import Random
from pyxos.core.config import ReplicaConfig
from pyxos.machines.kv import KvMachine
from pyxos.node.node import Node
from pyxos.runtime.config import HostPort, Limits
from pyxos.service.app import build_app, serve
from pyxos.runtime.runner import NodeRunner
from pyxos.storage import MemoryLogStore

async def main() -> None:
    store = MemoryLogStore()
    store.load()
    node = Node(config=ReplicaConfig(node_id=1, members=(1,)), machine=KvMachine(), rng=Random(1))
    runner = NodeRunner(node, store, limits=Limits(), seq_base=0, on_failure=print)
    runner.attach(lambda to, message: None)
    await runner.start()
    http = await serve(build_app(runner, runner.status, fault_injection=True),
                       HostPort(host="127.0.0.1", port=0))
    port = http.addresses[0][1]
    tmp = Path(sys.argv[1] + ".tmp")
    tmp.write_text(str(port))
    tmp.rename(sys.argv[1])
    await asyncio.Event().wait()

asyncio.run(main())
"""


def _poll(what: str, check: Any) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {DEADLINE_S}s")
        time.sleep(POLL_S)


@pytest.fixture
def child(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(port_file)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:

        def port() -> str | None:
            if proc.poll() is not None:
                raise AssertionError(f"the node exited with {proc.returncode}")
            return port_file.read_text() if port_file.exists() else None

        yield proc, f"http://127.0.0.1:{_poll('the node listens', port)}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _call(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status, r.read()


def test_crash_answers_then_exits_with_its_status(
    child: tuple[subprocess.Popen[bytes], str],
) -> None:
    proc, base = child
    assert _call(f"{base}/store/set", "POST", b'{"key": "k", "value": "v"}')[0] == 200
    assert _call(f"{base}/k") == (200, b"v")
    status, body = _call(f"{base}/crash")
    assert status == 200
    assert json.loads(body) == {"ok": True, "node": 1, "exit_status": EXIT_CRASH}
    assert _poll("the process exits", proc.poll) == EXIT_CRASH
