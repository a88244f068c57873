"""`/v1/locks`, fenced key-value writes, `/v1/ask`, `/v1/queues` and `/v1/map` on a one-node
cluster: the answers, the error codes, and a waiter woken by a release without polling."""

from __future__ import annotations

import asyncio
from typing import Any

from service_harness import Harness, run


async def _json(response: Any) -> tuple[int, Any]:
    return response.status, await response.json()


def test_acquire_whose_refresh_release_and_the_errors() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        status, body = await _json(
            await c.post("/v1/locks/a", json={"owner": "x", "ttl_ms": 60_000})
        )
        assert status == 200 and body["holder"] == "x" and body["granted"] is True
        token = body["token"]
        assert token >= 1 and 0 < body["remaining_ms"] <= 60_000
        status, body = await _json(await c.post("/v1/locks/a", json={"owner": "y", "ttl_ms": 1000}))
        assert (status, body["code"], body["holder"]) == (409, "lock_held", "x")
        status, body = await _json(await c.post("/v1/locks/a", json={"owner": "x", "ttl_ms": 1000}))
        assert (status, body["code"]) == (409, "held_by_you")
        status, body = await _json(await c.get("/v1/locks/a"))
        assert (status, body["holder"], body["token"]) == (200, "x", token)
        status, body = await _json(await c.get("/v1/locks/free", params={"consistency": "stale"}))
        assert (status, body["holder"], body["token"]) == (200, None, None)
        refresh = {"owner": "x", "token": token, "ttl_ms": 30_000}
        status, body = await _json(await c.put("/v1/locks/a", json=refresh))
        assert status == 200 and body["token"] == token
        status, body = await _json(await c.put("/v1/locks/a", json={**refresh, "owner": "y"}))
        assert (status, body["code"]) == (409, "not_holder")
        release = {"owner": "x", "token": token + 1}
        status, body = await _json(await c.delete("/v1/locks/a", json=release))
        assert (status, body["code"]) == (409, "not_holder")
        status, body = await _json(
            await c.delete("/v1/locks/a", json={"owner": "x", "token": token})
        )
        assert (status, body["holder"], body["released"]) == (200, None, True)
        for bad in ({"owner": "", "ttl_ms": 10}, {"owner": "x", "ttl_ms": 0}, {"owner": "x"}):
            status, body = await _json(await c.post("/v1/locks/a", json=bad))
            assert (status, body["code"]) == (400, "invalid_body"), bad
        status, body = await _json(
            await c.post("/v1/locks/a", json={"owner": "x", "ttl_ms": 10, "timeout_ms": -1})
        )
        assert (status, body["code"]) == (400, "invalid_body")
        status, body = await _json(await c.patch("/v1/locks/a"))
        assert status == 405

    run(scenario)


def test_a_waiter_is_granted_by_the_release_in_order_and_a_timed_out_wait_leaves() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        first = await (await c.post("/v1/locks/q", json={"owner": "a", "ttl_ms": 60_000})).json()
        waits = [
            asyncio.ensure_future(
                c.post(
                    "/v1/locks/q",
                    json={"owner": o, "ttl_ms": 60_000, "wait": True, "timeout_ms": 30_000},
                )
            )
            for o in ("b", "c")
        ]

        def queued() -> bool:
            return all(not w.done() for w in waits)

        # A wait that gives up is cancelled and answered `lock_held`.
        status, body = await _json(
            await c.post(
                "/v1/locks/q",
                json={"owner": "d", "ttl_ms": 1000, "wait": True, "timeout_ms": 50},
            )
        )
        assert (status, body["code"], body["holder"]) == (409, "lock_held", "a")
        assert queued()
        await c.delete("/v1/locks/q", json={"owner": "a", "token": first["token"]})
        status, body = await _json(await waits[0])
        assert (status, body["holder"], body["granted"]) == (200, "b", True)
        assert body["token"] > first["token"]
        assert not waits[1].done()
        await c.delete("/v1/locks/q", json={"owner": "b", "token": body["token"]})
        status, third = await _json(await waits[1])
        assert (status, third["holder"]) == (200, "c")
        assert third["token"] > body["token"]
        # d cancelled its wait: c's release frees the lock.
        await c.delete("/v1/locks/q", json={"owner": "c", "token": third["token"]})
        status, body = await _json(await c.get("/v1/locks/q"))
        assert body["holder"] is None

    run(scenario)


def test_an_expired_lease_passes_to_the_waiter_and_fences_its_holder() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        old = await (await c.post("/v1/locks/f", json={"owner": "a", "ttl_ms": 200})).json()
        status, body = await _json(
            await c.put("/v1/kv/data", data=b"one", params={"lock": "f", "token": old["token"]})
        )
        assert (status, body["previous"]) == (200, None)
        status, body = await _json(
            await c.post(
                "/v1/locks/f",
                json={"owner": "b", "ttl_ms": 60_000, "wait": True, "timeout_ms": 20_000},
            )
        )
        assert (status, body["holder"]) == (200, "b")
        new = body["token"]
        assert new > old["token"]
        status, body = await _json(
            await c.put("/v1/kv/data", data=b"two", params={"lock": "f", "token": old["token"]})
        )
        assert (status, body["code"], body["current_token"]) == (409, "stale_token", new)
        status, body = await _json(
            await c.delete("/v1/kv/data", params={"lock": "f", "token": new})
        )
        assert (status, body["previous"]) == (200, "one")
        status, body = await _json(await c.put("/v1/kv/data", data=b"x", params={"lock": "f"}))
        assert (status, body["code"]) == (400, "bad_request")

    run(scenario)


def test_ask_queues_and_the_versioned_map() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        status, body = await _json(await c.get("/v1/ask/k"))
        assert (status, body["code"]) == (404, "not_decided")
        status, body = await _json(await c.post("/v1/ask/k", data=b"first"))
        assert (status, body["value"], body["decided_now"]) == (200, "first", True)
        status, body = await _json(await c.post("/v1/ask/k", data=b"second"))
        assert (status, body["value"], body["decided_now"]) == (200, "first", False)
        assert (await (await c.get("/v1/ask/k")).json())["value"] == "first"

        status, body = await _json(await c.delete("/v1/queues/q"))
        assert (status, body["code"]) == (404, "queue_empty")
        for item in (b"1", b"\xff"):
            await c.post("/v1/queues/q", data=item)
        status, body = await _json(await c.get("/v1/queues/q"))
        assert (status, body["item"], body["length"]) == (200, "1", 2)
        status, body = await _json(await c.delete("/v1/queues/q"))
        assert (body["item"], body["length"]) == ("1", 1)
        status, body = await _json(await c.delete("/v1/queues/q"))
        assert (body["item"], body["encoding"], body["length"]) == ("/w==", "base64", 0)
        status, body = await _json(await c.get("/v1/queues/q"))
        assert (status, body["code"]) == (404, "queue_empty")

        status, body = await _json(await c.get("/v1/map/m"))
        assert (status, body["code"]) == (404, "key_not_found")
        status, body = await _json(await c.put("/v1/map/m", data=b"v1", params={"version": "0"}))
        assert (status, body["version"]) == (200, 1)
        status, body = await _json(await c.put("/v1/map/m", data=b"v2"))
        assert body["version"] == 2
        status, body = await _json(await c.put("/v1/map/m", data=b"v3", params={"version": "1"}))
        assert (status, body["code"], body["version"], body["value"]) == (
            409,
            "version_conflict",
            2,
            "v2",
        )
        status, body = await _json(await c.delete("/v1/map/m", params={"version": "1"}))
        assert (status, body["code"]) == (409, "version_conflict")
        status, body = await _json(await c.get("/v1/map/m"))
        assert (body["value"], body["version"]) == ("v2", 2)
        status, body = await _json(await c.delete("/v1/map/m", params={"version": "2"}))
        assert (status, body["value"]) == (200, "v2")
        status, body = await _json(await c.put("/v1/map/m", data=b"x", params={"version": "x"}))
        assert (status, body["code"]) == (400, "bad_request")

    run(scenario)
