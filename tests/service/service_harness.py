"""A real `NodeRunner` on a single-node cluster in this process, its app under aiohttp's test
client, and small helpers the service tests share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from random import Random
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from pyxos.core.config import ReplicaConfig
from pyxos.machines.catalog import build_machines
from pyxos.node.node import Node
from pyxos.runtime.config import Limits
from pyxos.runtime.runner import NodeRunner
from pyxos.service.app import build_app
from pyxos.storage import MemoryLogStore


@dataclass
class Harness:
    client: TestClient
    runner: NodeRunner

    async def value(self, key: str) -> Any:
        """The JSON of a stale `GET /v1/kv/{key}` (it does not wait for the cluster)."""
        r = await self.client.get(f"/v1/kv/{key}", params={"consistency": "stale"})
        return (r.status, await r.json())

    async def keys(self) -> dict[str, str]:
        """Everything stored, as {key: value or base64}."""
        r = await self.client.get("/v1/kv", params={"limit": "10000"})
        assert r.status == 200
        body = await r.json()
        return {item["key"]: item["value"] for item in body["items"]}


Scenario = Callable[[Harness], Awaitable[None]]


@asynccontextmanager
async def started_runner(
    members: tuple[int, ...] = (1,), **limits: int
) -> AsyncIterator[NodeRunner]:
    """A started runner of node 1 of `members` (a one-node cluster leads at once), stopped
    after; fails if the runner reported a failure."""
    store = MemoryLogStore()
    store.load()
    config = ReplicaConfig(node_id=1, members=members)
    node = Node(config=config, machine=build_machines(), rng=Random(1))
    failures: list[BaseException] = []
    runner = NodeRunner(
        node, store, limits=Limits(**limits), seq_base=0, on_failure=failures.append
    )
    runner.attach(lambda to, message: None)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()
    assert failures == []


def run(
    scenario: Scenario,
    *,
    members: tuple[int, ...] = (1,),
    fault_injection: bool = False,
    **limits: int,
) -> None:
    """Run `scenario` against node 1 of `members` (a one-node cluster leads at once)."""

    async def main() -> None:
        async with started_runner(members, **limits) as runner:
            app = build_app(runner, runner.status, fault_injection=fault_injection)
            async with TestClient(TestServer(app)) as client:
                await scenario(Harness(client=client, runner=runner))

    asyncio.run(main())
