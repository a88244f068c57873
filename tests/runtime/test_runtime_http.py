"""The HTTP API in one process, on a single-node cluster: routes, JSON errors, limits."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from random import Random

from aiohttp.test_utils import TestClient, TestServer

from pyxos.core.config import ReplicaConfig
from pyxos.machines.kv import KvMachine
from pyxos.node.node import Node
from pyxos.runtime.config import Limits
from pyxos.runtime.runner import NodeRunner
from pyxos.service.app import KEY_BYTES_MAX, VALUE_BYTES_MAX, build_app
from pyxos.storage import MemoryLogStore

Scenario = Callable[[TestClient], Awaitable[None]]


def with_client(scenario: Scenario, *, members: tuple[int, ...] = (1,), **limits: int) -> None:
    async def main() -> None:
        store = MemoryLogStore()
        store.load()
        config = ReplicaConfig(node_id=1, members=members)
        node = Node(config=config, machine=KvMachine(), rng=Random(1))
        failures: list[BaseException] = []
        runner = NodeRunner(
            node, store, limits=Limits(**limits), seq_base=0, on_failure=failures.append
        )
        runner.attach(lambda to, message: None)
        await runner.start()
        try:
            async with TestClient(TestServer(build_app(runner, runner.status))) as client:
                await scenario(client)
        finally:
            await runner.stop()
        assert failures == []

    asyncio.run(main())


def test_put_get_delete() -> None:
    async def scenario(client: TestClient) -> None:
        r = await client.put("/v1/kv/greeting", data=b"hello")
        assert r.status == 200
        assert await r.json() == {"key": "greeting", "previous": None}
        r = await client.get("/v1/kv/greeting")
        assert r.status == 200
        assert r.content_type == "application/json"
        assert await r.json() == {"key": "greeting", "value": "hello"}
        r = await client.put("/v1/kv/greeting", data=b"bye")
        assert await r.json() == {"key": "greeting", "previous": "hello"}
        r = await client.get("/v1/kv/greeting?consistency=stale")
        assert await r.json() == {"key": "greeting", "value": "bye"}
        r = await client.delete("/v1/kv/greeting")
        assert await r.json() == {"key": "greeting", "deleted": True, "previous": "bye"}
        r = await client.delete("/v1/kv/greeting")
        assert await r.json() == {"key": "greeting", "deleted": False, "previous": None}
        r = await client.get("/v1/kv/greeting")
        assert r.status == 404
        assert (await r.json())["code"] == "key_not_found"

    with_client(scenario)


def test_binary_values_come_back_base64_and_keys_may_hold_slashes() -> None:
    async def scenario(client: TestClient) -> None:
        raw = b"\xff\x00\xfe"
        assert (await client.put("/v1/kv/a/b%20c", data=raw)).status == 200
        r = await client.get("/v1/kv/a/b%20c")
        body = await r.json()
        assert body == {
            "key": "a/b c",
            "value": base64.b64encode(raw).decode(),
            "encoding": "base64",
        }

    with_client(scenario)


def test_status_and_health() -> None:
    async def scenario(client: TestClient) -> None:
        await client.put("/v1/kv/k", data=b"v")
        r = await client.get("/status")
        status = await r.json()
        assert status["node"] == 1
        assert status["role"] == "leader"
        assert status["leader"] == 1
        assert status["applied_index"] >= 1
        assert status["decided_index"] >= status["applied_index"]
        r = await client.get("/healthz")
        assert r.status == 200
        assert await r.json() == {"ok": True, "node": 1, "cluster": None}

    with_client(scenario)


def test_oversized_key_and_value_are_refused_and_change_nothing() -> None:
    async def scenario(client: TestClient) -> None:
        await client.put("/v1/kv/k", data=b"small")
        r = await client.put("/v1/kv/" + "k" * (KEY_BYTES_MAX + 1), data=b"v")
        assert r.status == 413
        assert (await r.json())["code"] == "too_large"
        r = await client.get("/v1/kv/" + "k" * (KEY_BYTES_MAX + 1))
        assert r.status == 413
        r = await client.put("/v1/kv/k", data=b"x" * (VALUE_BYTES_MAX + 1))
        assert r.status == 413
        body = await r.json()
        assert body["code"] == "too_large"
        assert "limit" in body["message"]
        r = await client.get("/v1/kv/k")
        assert (await r.json())["value"] == "small"
        # The limit itself is allowed.
        r = await client.put("/v1/kv/" + "k" * KEY_BYTES_MAX, data=b"x" * VALUE_BYTES_MAX)
        assert r.status == 200

    with_client(scenario)


def test_a_chunked_oversized_value_is_refused() -> None:
    async def scenario(client: TestClient) -> None:
        async def body():  # type: ignore[no-untyped-def]
            for _ in range(VALUE_BYTES_MAX // 65536 + 1):
                yield b"x" * 65536

        r = await client.put("/v1/kv/k", data=body())  # no Content-Length
        assert r.status == 413
        assert (await r.json())["code"] == "too_large"
        assert (await client.get("/v1/kv/k")).status == 404

    with_client(scenario)


def test_unknown_routes_and_methods_answer_json() -> None:
    async def scenario(client: TestClient) -> None:
        r = await client.get("/v1/nope")
        assert r.status == 404
        assert (await r.json())["code"] == "not_found"
        r = await client.get("/v1/kv/")
        assert r.status == 404
        r = await client.post("/v1/kv/k", data=b"v")
        assert r.status == 405
        assert (await r.json())["code"] == "method_not_allowed"
        assert "PUT" in r.headers["Allow"]
        r = await client.get("/v1/kv/k?consistency=eventual")
        assert r.status == 400
        body = await r.json()
        assert body["code"] == "bad_request"
        assert "consistency" in body["message"]

    with_client(scenario)


def test_no_quorum_is_503_with_a_code() -> None:
    async def scenario(client: TestClient) -> None:
        r = await client.put("/v1/kv/k", data=b"v")
        assert r.status == 503
        assert (await r.json())["code"] == "no_quorum"

    # Three members whose peers never answer: no leader is ever established.
    with_client(scenario, members=(1, 2, 3), request_timeout_ms=200, request_retry_ms=50)
