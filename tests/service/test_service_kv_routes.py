"""`/v1`: read, write and delete, compare-and-set, and listing by prefix."""

from __future__ import annotations

import base64

from service_harness import Harness, run


def test_put_get_delete_keep_their_answers() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        r = await c.put("/v1/kv/k", data=b"one")
        assert (r.status, await r.json()) == (200, {"key": "k", "previous": None})
        r = await c.get("/v1/kv/k")
        assert await r.json() == {"key": "k", "value": "one"}
        r = await c.delete("/v1/kv/k")
        assert await r.json() == {"key": "k", "deleted": True, "previous": "one"}
        r = await c.get("/v1/kv/k")
        assert (r.status, (await r.json())["code"]) == (404, "key_not_found")

    run(scenario)


def test_cas_sets_on_match_and_answers_409_with_the_current_value_otherwise() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        r = await c.post("/v1/cas/k", json={"expected": None, "value": "v1"})
        assert (r.status, await r.json()) == (200, {"key": "k", "ok": True, "previous": None})
        r = await c.post("/v1/cas/k", json={"expected": None, "value": "v2"})
        body = await r.json()
        assert r.status == 409
        assert body["code"] == "cas_mismatch"
        assert body["current"] == "v1"
        r = await c.post("/v1/cas/k", json={"expected": "nope", "value": "v2"})
        assert r.status == 409
        r = await c.post("/v1/cas/k", json={"expected": "v1", "value": "v2"})
        assert (r.status, await r.json()) == (200, {"key": "k", "ok": True, "previous": "v1"})
        assert await h.value("k") == (200, {"key": "k", "value": "v2"})

    run(scenario)


def test_cas_with_base64_values() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        raw, new = b"\xff\x00", b"\xfe"
        await c.put("/v1/kv/b", data=raw)
        wrong = {"expected": base64.b64encode(b"x").decode(), "value": "AA==", "encoding": "base64"}
        r = await c.post("/v1/cas/b", json=wrong)
        body = await r.json()
        assert r.status == 409
        assert (body["current"], body["current_encoding"]) == ("/wA=", "base64")
        right = {
            "expected": base64.b64encode(raw).decode(),
            "value": base64.b64encode(new).decode(),
            "encoding": "base64",
        }
        r = await c.post("/v1/cas/b", json=right)
        assert await r.json() == {
            "key": "b",
            "ok": True,
            "previous": "/wA=",
            "previous_encoding": "base64",
        }
        r = await c.get("/v1/kv/b")
        assert await r.json() == {"key": "b", "value": "/g==", "encoding": "base64"}

    run(scenario)


def test_list_by_prefix_with_limit_and_truncation() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        for key in ("user/3", "user/1", "user/2", "other", "user"):
            await c.put(f"/v1/kv/{key}", data=key.upper().encode())
        await c.put("/v1/kv/user/bin", data=b"\xff")
        r = await c.get("/v1/kv", params={"prefix": "user/"})
        assert await r.json() == {
            "items": [
                {"key": "user/1", "value": "USER/1"},
                {"key": "user/2", "value": "USER/2"},
                {"key": "user/3", "value": "USER/3"},
                {"key": "user/bin", "value": "/w==", "encoding": "base64"},
            ],
            "truncated": False,
            "next": None,
        }
        r = await c.get("/v1/kv", params={"prefix": "user/", "limit": "2"})
        body = await r.json()
        assert [item["key"] for item in body["items"]] == ["user/1", "user/2"]
        assert (body["truncated"], body["next"]) == (True, "user/2")
        r = await c.get("/v1/kv", params={"limit": "1", "consistency": "stale"})
        assert await r.json() == {
            "items": [{"key": "other", "value": "OTHER"}],
            "truncated": True,
            "next": "other",
        }
        r = await c.get("/v1/kv", params={"prefix": "zzz"})
        assert await r.json() == {"items": [], "truncated": False, "next": None}
        assert len(await h.keys()) == 6

    run(scenario)


def test_list_pages_with_the_next_cursor_reach_every_key_once() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        keys = [f"page/{i:03d}" for i in range(250)]
        for key in reversed(keys):
            await c.put(f"/v1/kv/{key}", data=key.encode())
        await c.put("/v1/kv/pagf", data=b"outside the prefix")
        seen: list[str] = []
        sizes: list[int] = []
        params = {"prefix": "page/", "limit": "100"}
        while True:
            r = await c.get("/v1/kv", params=params)
            assert r.status == 200
            body = await r.json()
            seen += [item["key"] for item in body["items"]]
            sizes.append(len(body["items"]))
            assert body["truncated"] is (body["next"] is not None)
            if body["next"] is None:
                break
            assert body["next"] == seen[-1]
            params = {**params, "after": body["next"]}
        assert sizes == [100, 100, 50]
        assert seen == keys  # every key once, in order

    run(scenario)
