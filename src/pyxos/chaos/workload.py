"""The workload of a chaos run: clients that read and write a few keys and record a history.

Each worker does one operation at a time, through a node drawn at random (its own pinned
`AsyncClient`, so that reads really are answered by followers too), at a paced rate. Written
values are unique (`<worker>.<n>`), which keeps the linearizability search small. Every
operation goes into the history (`pyxos.check.history`, times in microseconds of one
monotonic clock): a write that ends in an error has an unknown outcome (`complete` null), a
read that fails is left out (it changed nothing).

Besides the shared keys, a share of the writes put a key of their own under `ack/` that is
never written again: at the end every acknowledged one must still be there (`lost_acks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from random import Random

from pyxos.check.history import Operation, OpKind
from pyxos.client import AsyncClient, CasMismatch, PyxosError
from pyxos.runtime.config import HostPort

KEYS = tuple(f"k{i}" for i in range(8))
ACK_PREFIX = "ack/"
OP_TIMEOUT_S = 3.0
ATTEMPT_TIMEOUT_S = 1.5


def now_us() -> int:
    return time.monotonic_ns() // 1000


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode(errors="backslashreplace")


@dataclass(slots=True)
class WorkloadStats:
    ok: int = 0
    unknown: int = 0
    failed_reads: int = 0


@dataclass(slots=True)
class Workload:
    """`workers` clients at `rate_per_s` operations a second in all, until `stop()`."""

    clients: Mapping[int, HostPort]
    seed: int
    workers: int = 4
    rate_per_s: float = 100.0
    history: list[Operation] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    stats: WorkloadStats = field(default_factory=WorkloadStats)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _by_node: dict[int, AsyncClient] = field(default_factory=dict)

    async def run(self) -> None:
        """Run the workers until `stop()`; then close the clients."""
        self._by_node = {
            k: AsyncClient(
                [str(address)],
                pinned=True,
                timeout_s=OP_TIMEOUT_S,
                attempt_timeout_s=ATTEMPT_TIMEOUT_S,
            )
            for k, address in self.clients.items()
        }
        rng = Random(self.seed)
        try:
            await asyncio.gather(
                *(self._worker(w, Random(rng.getrandbits(64))) for w in range(1, self.workers + 1))
            )
        finally:
            for client in self._by_node.values():
                await client.aclose()

    def stop(self) -> None:
        self._stopping.set()

    async def _worker(self, worker: int, rng: Random) -> None:
        interval_s = self.workers / self.rate_per_s
        nodes = sorted(self._by_node)
        last_seen: dict[str, str | None] = {}
        n = 0
        while not self._stopping.is_set():
            n += 1
            client = self._by_node[rng.choice(nodes)]
            started = time.monotonic()
            await self._one(client, worker, n, rng, last_seen)
            # Pacing, not waiting for a condition: the stop event ends the pause early.
            pause_s = interval_s - (time.monotonic() - started)
            if pause_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause_s)

    async def _one(
        self,
        client: AsyncClient,
        worker: int,
        n: int,
        rng: Random,
        last_seen: dict[str, str | None],
    ) -> None:
        value = f"{worker}.{n}"
        roll = rng.random()
        if roll < 0.1:
            await self.record(client, worker, "put", f"{ACK_PREFIX}{worker}.{n}", value)
            return
        key = rng.choice(KEYS)
        if roll < 0.5:
            out = await self.record(client, worker, "get", key, None)
        elif roll < 0.8:
            out = await self.record(client, worker, "put", key, value)
        elif roll < 0.9:
            out = await self.record(client, worker, "cas", key, value, expected=last_seen.get(key))
        else:
            out = await self.record(client, worker, "delete", key, None)
        if out is not False:
            last_seen[key] = value if out is True else out

    async def record(
        self,
        client: AsyncClient,
        worker: int,
        kind: OpKind,
        key: str,
        value: str | None,
        *,
        expected: str | None = None,
    ) -> str | bool | None:
        """Run one operation and add it to the history. What the key held afterwards as far as
        this client knows (True: the value written), or False if nothing was learnt."""
        invoke = now_us()
        output: str | None = None
        after: str | bool | None = False
        try:
            match kind:
                case "get":
                    output = _text(await client.get(key))
                    after = output
                case "put":
                    output = _text(await client.put(key, value or ""))
                    after = True
                case "delete":
                    output = _text(await client.delete(key))
                    after = None
                case "cas":
                    try:
                        await client.cas(key, expected, value or "")
                        output, after = expected, True
                    except CasMismatch as exc:
                        output = _text(exc.current)
                        after = output
        except PyxosError:  # a write's outcome is unknown (Unavailable included: be safe)
            if kind == "get":
                self.stats.failed_reads += 1
                return False
            self.stats.unknown += 1
            complete: int | None = None
        else:
            self.stats.ok += 1
            complete = now_us()
            if kind == "put" and key.startswith(ACK_PREFIX):
                self.acked.append(key)
        self.history.append(
            Operation(
                client=worker,
                kind=kind,
                key=key,
                value=value,
                expected=expected if kind == "cas" else None,
                invoke=invoke,
                complete=complete,
                output=output if complete is not None else None,
            )
        )
        return after if complete is not None else False
