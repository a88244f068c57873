"""A local cluster of node processes that a chaos run may kill, pause and restart.

The cluster file is written to a temporary folder with free ports and fault injection on;
node k runs as `python -m <node_module> --config ... --id k` with its output in
`node-<k>.log` (with `zones`, the nodes have `"zone.node"` ids: node `1.2` is `1002` here,
`--id 1.2` on its command line and `node-1.2.log`). Signals are the process faults: SIGKILL
(a crash with no cleanup: the node recovers from its log on restart), SIGSTOP / SIGCONT (a
pause: the process is frozen, its sockets stay open, its peers see silence). Every wait polls
with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import aiohttp

from pyxos.core.protocols import DEFAULT_PROTOCOL
from pyxos.core.quorum import MAJORITY, QuorumSpec
from pyxos.runtime.config import HostPort, cluster_toml, format_node_id, zone_node_ids
from pyxos.runtime.ports import free_ports

NODE_MODULE = "pyxos.cli.node_cmd"
START_DEADLINE_S = 20.0
STOP_DEADLINE_S = 10.0
POLL_S = 0.05


class LocalCluster:
    """`size` node processes from one cluster file in `root`. `close()` always."""

    def __init__(
        self,
        root: Path,
        *,
        size: int = 3,
        node_module: str = NODE_MODULE,
        node_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        timers: Mapping[str, int] | None = None,
        protocol: str = DEFAULT_PROTOCOL,
        quorums: QuorumSpec = MAJORITY,
        thrifty: bool = False,
        zones: int | None = None,
        options: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.root = root
        self.zoned = zones is not None
        self.ids = list(zone_node_ids(size, zones) if zones is not None else range(1, size + 1))
        self._node_command = [sys.executable, "-m", node_module, *node_args]
        self._env = {**os.environ, **(env or {})}
        ports = iter(free_ports(3 * size))
        self.http = {k: HostPort(host="127.0.0.1", port=next(ports)) for k in self.ids}
        self.peer = {k: HostPort(host="127.0.0.1", port=next(ports)) for k in self.ids}
        self.client = {k: HostPort(host="127.0.0.1", port=next(ports)) for k in self.ids}
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "cluster.toml"
        self.config.write_text(
            cluster_toml(
                cluster=f"chaos-{os.getpid()}",
                nodes=[(k, self.peer[k], self.http[k], self.client[k]) for k in self.ids],
                data_dir=".",
                timers=dict(timers or {}),
                fault_injection=True,
                protocol=protocol,
                quorums=quorums,
                thrifty=thrifty,
                options=options,
                zoned=self.zoned,
            )
        )
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.paused: set[int] = set()

    def name(self, k: int) -> str:
        """Node `k` as the cluster file writes it (`"1.2"` in a zoned cluster)."""
        return format_node_id(k, zoned=self.zoned)

    def log_path(self, k: int) -> Path:
        return self.root / f"node-{self.name(k)}.log"

    def running(self, k: int) -> bool:
        proc = self.procs.get(k)
        return proc is not None and proc.poll() is None

    def start(self, k: int) -> None:
        if self.running(k):
            raise RuntimeError(f"node {k} is already running")
        command = [*self._node_command, "--config", str(self.config), "--id", self.name(k)]
        with open(self.log_path(k), "ab") as log:
            self.procs[k] = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                start_new_session=True,
            )

    def kill(self, k: int) -> None:
        """SIGKILL node `k` and reap it (a paused node dies too)."""
        proc = self.procs[k]
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=STOP_DEADLINE_S)
        self.paused.discard(k)

    def pause(self, k: int) -> None:
        self.procs[k].send_signal(signal.SIGSTOP)
        self.paused.add(k)

    def resume(self, k: int) -> None:
        if k in self.paused and self.running(k):
            self.procs[k].send_signal(signal.SIGCONT)
        self.paused.discard(k)

    async def healthy(self, session: aiohttp.ClientSession, k: int) -> bool:
        if not self.running(k):
            return False
        try:
            async with session.get(
                f"http://{self.http[k]}/healthz", timeout=aiohttp.ClientTimeout(total=1.0)
            ) as r:
                return r.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    async def wait_healthy(
        self, session: aiohttp.ClientSession, k: int, deadline_s: float = START_DEADLINE_S
    ) -> None:
        """Poll node `k`'s /healthz until it answers; raises `RuntimeError` (with the log's
        tail) if the process exits or the deadline passes."""
        deadline = time.monotonic() + deadline_s
        while not await self.healthy(session, k):
            proc = self.procs.get(k)
            if proc is None or proc.poll() is not None:
                code = None if proc is None else proc.returncode
                raise RuntimeError(f"node {k} exited with {code}:\n{self.tail(k)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {k} not healthy within {deadline_s}s:\n{self.tail(k)}")
            await asyncio.sleep(POLL_S)

    async def start_all(self, session: aiohttp.ClientSession) -> None:
        for k in self.ids:
            self.start(k)
        for k in self.ids:
            await self.wait_healthy(session, k)

    def tail(self, k: int, lines: int = 20) -> str:
        try:
            text = self.log_path(k).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Stop every node: SIGCONT the paused, SIGTERM all, SIGKILL what does not stop."""
        for k in list(self.paused):
            self.resume(k)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_DEADLINE_S
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
