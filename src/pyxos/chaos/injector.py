"""Applying the steps of a schedule to a `LocalCluster`, healing, and timing the recovery.

Network faults go through each node's `/v1/admin/faults`; process faults are signals from
`LocalCluster`. A step resolves its target when it starts (the leader, or a follower, as the
nodes' `/status` say). `heal()` ends every fault at once (DELETE the faults, SIGCONT the paused,
restart the killed) and `time_to_serve()` then measures how long until a write commits again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from dataclasses import dataclass, field
from random import Random
from typing import Any

import aiohttp

from pyxos.chaos.cluster import LocalCluster
from pyxos.chaos.schedule import Step

FAULTS_PATH = "/v1/admin/faults"
PROBE_PATH = "/v1/kv/chaos-probe"
PROBE_TIMEOUT_S = 1.0
POLL_S = 0.05
FAULT_MARGIN_S = 60.0
"""Network faults are set to last this much longer than their step: `heal()` ends them, and a
run that died before healing still leaves none behind for long."""
CRASH_LOOP_UP_S = (0.3, 1.5)


@dataclass(slots=True)
class Injector:
    cluster: LocalCluster
    session: aiohttp.ClientSession
    rng: Random
    _loop_task: asyncio.Task[int] | None = None
    _loop_until: float = 0.0
    applied: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    # ---- looking at the cluster -----------------------------------------------------------
    async def status(self, k: int) -> dict[str, Any] | None:
        if not self.cluster.running(k) or k in self.cluster.paused:
            return None
        try:
            async with self.session.get(
                f"http://{self.cluster.http[k]}/status",
                timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S),
            ) as r:
                body: dict[str, Any] = await r.json()
                return body if r.status == 200 else None
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            return None

    async def leader(self) -> int | None:
        """The node that says it leads (the one with the highest view if several do)."""
        statuses = await asyncio.gather(*(self.status(k) for k in self.cluster.ids))
        leaders = [
            (s.get("view", 0), k)
            for k, s in zip(self.cluster.ids, statuses, strict=True)
            if s is not None and s.get("role") == "leader"
        ]
        return max(leaders)[1] if leaders else None

    # ---- faults ---------------------------------------------------------------------------
    async def apply(self, step: Step) -> dict[str, Any]:
        """Start `step`'s fault; what was done (victim, peers), JSON-ready."""
        ids = self.cluster.ids
        leader = await self.leader()
        if step.target == "leader" and leader is not None:
            victim = leader
        else:
            victim = self.rng.choice([k for k in ids if k != leader])
        others = [k for k in ids if k != victim]
        done: dict[str, Any] = {**step.describe(), "node": victim, "leader": leader}
        seconds = step.duration_s + FAULT_MARGIN_S
        match step.kind:
            case "crash":
                await self._post(victim, {"kind": "crash", "duration_s": seconds})
            case "drop":
                peer = self.rng.choice(others)
                done["peers"] = [peer]
                await self._post(victim, {"kind": "drop", "peers": [peer], "duration_s": seconds})
            case "slow":
                done["peers"] = others
                await self._post(
                    victim,
                    {
                        "kind": "slow",
                        "peers": others,
                        "delay_ms": step.delay_ms,
                        "duration_s": seconds,
                    },
                )
            case "flaky":
                done["peers"] = others
                await self._post(
                    victim, {"kind": "flaky", "peers": others, "p": step.p, "duration_s": seconds}
                )
            case "partition":
                done["peers"] = others
                await self._post(
                    victim, {"kind": "partition", "peers": others, "duration_s": seconds}
                )
                for k in others:
                    await self._post(
                        k, {"kind": "partition", "peers": [victim], "duration_s": seconds}
                    )
            case "kill":
                self.cluster.kill(victim)
            case "pause":
                self.cluster.pause(victim)
            case "crash_loop":
                self._loop_until = time.monotonic() + step.duration_s
                self._loop_task = asyncio.create_task(self._crash_loop(victim))
        self.applied.append(done)
        return done

    async def _post(self, k: int, body: dict[str, Any]) -> None:
        url = f"http://{self.cluster.http[k]}{FAULTS_PATH}"
        async with self.session.post(url, json=body, timeout=aiohttp.ClientTimeout(total=5.0)) as r:
            if r.status != 200:
                raise RuntimeError(f"node {k} refused the fault {body}: {await r.text()}")

    async def _crash_loop(self, k: int) -> int:
        """GoPaxos' crash loop: kill -9 node `k`, restart it, let it serve a moment, again,
        until the step ends. How many kills."""
        kills = 0
        while time.monotonic() < self._loop_until:
            self.cluster.kill(k)
            kills += 1
            self.cluster.start(k)
            with contextlib.suppress(RuntimeError):
                await self.cluster.wait_healthy(self.session, k)
            up_s = self.rng.uniform(*CRASH_LOOP_UP_S)
            await asyncio.sleep(min(up_s, max(0.0, self._loop_until - time.monotonic())))
        return kills

    async def heal(self) -> dict[str, Any]:
        """End every fault now: the crash loop stops, faults are deleted, paused nodes go on,
        killed nodes start again. What was done, JSON-ready."""
        done: dict[str, Any] = {}
        if self._loop_task is not None:
            self._loop_until = 0.0
            done["crash_loop_kills"] = await self._loop_task
            self._loop_task = None
        for k in sorted(self.cluster.paused):
            self.cluster.resume(k)
            done.setdefault("resumed", []).append(k)
        for k in self.cluster.ids:
            if not self.cluster.running(k):
                code = self.cluster.procs[k].returncode
                if code != -signal.SIGKILL:  # not ours: the node stopped by itself
                    self.failures.append(f"node {k} exited with status {code}")
                self.cluster.start(k)
                done.setdefault("restarted", []).append(k)
        healed = await asyncio.gather(*(self._delete(k) for k in self.cluster.ids))
        done["faults_healed"] = sum(healed)
        return done

    async def _delete(self, k: int) -> int:
        try:
            async with self.session.delete(
                f"http://{self.cluster.http[k]}{FAULTS_PATH}",
                timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S),
            ) as r:
                body = await r.json()
                return int(body.get("healed", 0)) if r.status == 200 else 0
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            return 0  # a restarted node has no faults yet

    async def time_to_serve(self, since: float, deadline_s: float) -> float | None:
        """Seconds from `since` (monotonic) until a write through some node commits; None if
        none does within `deadline_s`."""
        n = 0
        while time.monotonic() - since < deadline_s:
            n += 1
            attempts = [asyncio.create_task(self._probe(k, n)) for k in self.cluster.ids]
            for finished in asyncio.as_completed(attempts):
                if await finished:
                    served = time.monotonic() - since
                    for task in attempts:
                        task.cancel()
                    await asyncio.gather(*attempts, return_exceptions=True)
                    return served
            await asyncio.sleep(POLL_S)
        return None

    async def _probe(self, k: int, n: int) -> bool:
        if not self.cluster.running(k):
            return False
        try:
            async with self.session.put(
                f"http://{self.cluster.http[k]}{PROBE_PATH}",
                data=str(n).encode(),
                timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S),
            ) as r:
                return r.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    async def wait_all_healthy(self, deadline_s: float) -> None:
        await asyncio.gather(
            *(self.cluster.wait_healthy(self.session, k, deadline_s) for k in self.cluster.ids)
        )
