"""Paxi's routes: raw `/<key>` reads and writes, `POST /` commands, and exactly-once retries
through the `Id`/`Cid` headers."""

from __future__ import annotations

import asyncio
import base64

from service_harness import Harness, run

from pyxos.runtime.requests import CLIENT_ID_MIN
from pyxos.service.paxi_routes import client_id_of


def test_get_and_put_raw_values_with_ballot_and_slot_headers() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        r = await c.get("/greeting")
        assert (r.status, (await r.json())["code"]) == (404, "key_not_found")
        r = await c.put("/greeting", data=b"hello")
        assert (r.status, await r.read()) == (200, b"")
        assert r.headers["Ballot"] == str(h.runner.node.promised)
        assert int(r.headers["Slot"]) >= 1
        r = await c.post("/greeting", data=b"\xffbye")
        assert await r.read() == b"hello"  # the previous value, as Paxi answers
        r = await c.get("/greeting")
        assert r.content_type == "application/octet-stream"
        assert await r.read() == b"\xffbye"
        r = await c.get("/dir/sub%20key")
        assert r.status == 404
        await c.put("/dir/sub%20key", data=b"x")
        assert await h.value("dir/sub%20key") == (200, {"key": "dir/sub key", "value": "x"})

    run(scenario)


def test_post_root_runs_a_json_command() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        value = base64.b64encode(b"\x00bin").decode()
        r = await c.post("/", json={"Key": 42, "Value": value})
        assert (r.status, await r.read()) == (200, b"")
        r = await c.post("/", json={"Key": "42"})  # no Value: a read
        assert await r.read() == b"\x00bin"
        r = await c.post("/", json={"Key": "t", "Value": "plain", "Encoding": "utf-8"})
        assert r.status == 200
        r = await c.post("/", json={"Key": "t", "Value": None})
        assert await r.read() == b"plain"
        r = await c.post("/", json={"Key": "absent"})
        assert (r.status, (await r.json())["code"]) == (404, "key_not_found")

    run(scenario)


def test_a_retry_with_the_same_id_and_cid_is_applied_once() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        first = await c.put("/k", data=b"first", headers={"Id": "client-1", "Cid": "1"})
        assert (first.status, await first.read()) == (200, b"")
        assert (first.headers["Id"], first.headers["Cid"]) == ("client-1", "1")
        applied = h.runner.node.applied_upto
        retry = await c.put("/k", data=b"second", headers={"Id": "client-1", "Cid": "1"})
        assert (retry.status, await retry.read()) == (200, b"")  # the first's answer
        assert h.runner.node.applied_upto == applied  # answered from the session table
        assert await h.value("k") == (200, {"key": "k", "value": "first"})
        r = await c.put("/k", data=b"third", headers={"Id": "client-1", "Cid": "2"})
        assert await r.read() == b"first"
        r = await c.put("/k", data=b"late", headers={"Id": "client-1", "Cid": "1"})
        assert (r.status, (await r.json())["code"]) == (409, "stale_command")
        assert await h.value("k") == (200, {"key": "k", "value": "third"})

    run(scenario)


async def _log_slots(h: Harness) -> dict[str, int]:
    """`{"client_id.seq": slot}` of every command in this node's `/log/print`."""
    r = await h.client.get("/log/print/log")
    slots: dict[str, int] = {}
    for line in (await r.text()).splitlines():
        slot, batch = line.split(" ", 1)
        for command in batch.split("; "):
            slots[command.split(" ", 1)[0]] = int(slot)
    return slots


def test_a_write_answers_the_slot_that_decided_it() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        first = await c.put("/k", data=b"1", headers={"Id": "client-1", "Cid": "1"})
        second = await c.post(
            "/", json={"Key": "k", "Value": "Mg==", "CommandID": 2, "ClientID": "client-1"}
        )
        assert int(first.headers["Slot"]) < int(second.headers["Slot"])
        # Concurrent writes, which group commit may put in one batch: each still names the
        # slot that holds it.
        names = [f"many-{i}" for i in range(8)]
        many = await asyncio.gather(
            *(c.put(f"/{name}", data=b"v", headers={"Id": name, "Cid": "1"}) for name in names)
        )
        log = await _log_slots(h)
        cid = client_id_of("client-1")
        assert int(first.headers["Slot"]) == log[f"{cid}.1"]
        assert int(second.headers["Slot"]) == log[f"{cid}.2"]
        for name, r in zip(names, many, strict=True):
            assert int(r.headers["Slot"]) == log[f"{client_id_of(name)}.1"]
        # Answered again from the session table, which keeps no slot: the applied index.
        retry = await c.put("/k", data=b"1", headers={"Id": "client-1", "Cid": "1"})
        assert retry.status == 409  # older than Cid 2: refused before the node sees it
        retry = await c.put("/k", data=b"2", headers={"Id": "client-1", "Cid": "2"})
        assert int(retry.headers["Slot"]) == h.runner.node.applied_upto

    run(scenario)


def test_post_root_sessions_from_the_body_or_the_headers() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        command = {"Key": "j", "Value": "b25l", "ClientID": "1.1", "CommandID": 1}
        r = await c.post("/", json=command)
        assert (r.status, r.headers["Id"], r.headers["Cid"]) == (200, "1.1", "1")
        r = await c.post("/", json={**command, "Value": "dHdv"})
        assert await r.read() == b""  # the retry gets the first answer
        r = await c.post("/", json={"Key": "j", "Value": "dHdv"}, headers={"Id": "1.1", "Cid": "1"})
        assert await r.read() == b""
        assert await h.value("j") == (200, {"key": "j", "value": "one"})
        r = await c.post("/", json={**command, "CommandID": 2}, headers={"Cid": "3"})
        assert (r.status, (await r.json())["code"]) == (400, "bad_header")

    run(scenario)


def test_client_ids_are_stable_and_above_the_node_pools() -> None:
    ids = {client_id_of(f"c{i}") for i in range(1000)}
    assert len(ids) == 1000
    assert all(CLIENT_ID_MIN <= i < 1 << 63 for i in ids)
    assert client_id_of("1.1") == client_id_of("1.1")


def test_specific_routes_win_over_keys() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        for path in ("/status", "/metrics", "/healthz", "/crash", "/store/nop", "/openapi.json"):
            r = await c.put(path, data=b"x")
            assert (r.status, (await r.json())["code"]) == (405, "method_not_allowed"), path
            assert r.headers["Allow"] == "GET"
        for path in ("/v1/x", "/v1/kv/", "/store/other", "/status/x", "/log/x"):
            r = await c.put(path, data=b"x")
            assert (r.status, (await r.json())["code"]) == (404, "not_found"), path
        r = await c.delete("/some-key")
        assert (r.status, r.headers["Allow"]) == (405, "GET, POST, PUT")
        assert await h.keys() == {}
        # Such keys live on through /v1/kv.
        await c.put("/v1/kv/status", data=b"fine")
        assert await h.value("status") == (200, {"key": "status", "value": "fine"})

    run(scenario)
