"""Paxi's routes: raw `/<key>` reads and writes, `POST /` commands, `Id`/`Cid` as Paxi's
clients send them (labels), and exactly-once retries when a client asks for them."""

from __future__ import annotations

import asyncio
import base64

from service_harness import Harness, run

from pyxos.runtime.requests import CLIENT_ID_MIN
from pyxos.service.paxi_routes import client_id_of


def test_get_and_put_raw_values_with_ballot_and_slot_headers() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        r = await c.get("/greeting")  # absent: empty, as Paxi answers, and said so
        assert (r.status, await r.read(), r.headers["Pyxos-Found"]) == (200, b"", "false")
        r = await c.put("/greeting", data=b"hello")
        assert (r.status, await r.read()) == (200, b"")
        assert r.headers["Ballot"] == str(h.runner.node.promised)
        assert int(r.headers["Slot"]) >= 1
        r = await c.post("/greeting", data=b"\xffbye")
        assert await r.read() == b"hello"  # the previous value, as Paxi answers
        r = await c.get("/greeting")
        assert r.content_type == "application/octet-stream"
        assert (await r.read(), r.headers["Pyxos-Found"]) == (b"\xffbye", "true")
        await c.put("/empty", data=b"")
        r = await c.get("/empty")
        assert (r.status, await r.read(), r.headers["Pyxos-Found"]) == (200, b"", "true")
        r = await c.get("/dir/sub%20key")
        assert r.headers["Pyxos-Found"] == "false"
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
        assert (r.status, await r.read(), r.headers["Pyxos-Found"]) == (200, b"", "false")
        # Go's decoder matches field names without regard to case, and so do we.
        r = await c.post("/", json={"key": "t", "VALUE": "cGxhaW4y"})
        assert r.status == 200
        assert await h.value("t") == (200, {"key": "t", "value": "plain2"})
        r = await c.post("/", json={"key": "t", "Key": "u"})
        assert (r.status, (await r.json())["code"]) == (400, "invalid_body")

    run(scenario)


def _once(client: str, cid: int) -> dict[str, str]:
    """The headers of an exactly-once command."""
    return {"Pyxos-Session": "exactly-once", "Id": client, "Cid": str(cid)}


def test_with_pyxos_session_a_retry_with_the_same_id_and_cid_is_applied_once() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        first = await c.put("/k", data=b"first", headers=_once("client-1", 1))
        assert (first.status, await first.read()) == (200, b"")
        assert (first.headers["Id"], first.headers["Cid"]) == ("client-1", "1")
        applied = h.runner.node.applied_upto
        retry = await c.put("/k", data=b"second", headers=_once("client-1", 1))
        assert (retry.status, await retry.read()) == (200, b"")  # the first's answer
        assert h.runner.node.applied_upto == applied  # answered from the session table
        assert await h.value("k") == (200, {"key": "k", "value": "first"})
        r = await c.put("/k", data=b"third", headers=_once("client-1", 2))
        assert await r.read() == b"first"
        r = await c.put("/k", data=b"late", headers=_once("client-1", 1))
        assert (r.status, (await r.json())["code"]) == (409, "stale_command")
        assert await h.value("k") == (200, {"key": "k", "value": "third"})
        # The same Id and Cid without the header are labels: applied like any write.
        r = await c.put("/k", data=b"labelled", headers={"Id": "client-1", "Cid": "1"})
        assert (r.status, await r.read()) == (200, b"third")
        assert await h.value("k") == (200, {"key": "k", "value": "labelled"})

    run(scenario)


def test_exactly_once_needs_an_id_and_a_cid_and_says_what_is_wrong() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        bad = [
            {"Pyxos-Session": "exactly-once", "Cid": "1"},
            {"Pyxos-Session": "exactly-once", "Id": "a"},
            {"Pyxos-Session": "exactly-once", "Id": "", "Cid": "1"},
            _once("a", 0),
            _once("a b", 1),
            {"Pyxos-Session": "at-least-once", "Id": "a", "Cid": "1"},
            {"Id": "a", "Cid": "x"},
            {"Id": "a", "Cid": "-1"},
            {"Id": "é"},
        ]
        for headers in bad:
            r = await c.put("/k", data=b"v", headers=headers)
            body = await r.json()
            assert (r.status, body["code"]) == (400, "bad_header"), headers
            assert "Id" in body["message"] or "Cid" in body["message"] or "Pyxos" in body["message"]
        assert await h.keys() == {}
        r = await c.put(
            "/k", data=b"v", headers={"pyxos-session": "Exactly-Once", "Id": "a", "Cid": "1"}
        )
        assert r.status == 200

    run(scenario)


def test_id_and_cid_as_paxis_clients_send_them_are_labels() -> None:
    """What Paxi's HTTPClient does (client.go, `rest`): every request carries `Id` (its `-id`
    flag, empty without it) and `Cid` (a counter the process starts at 0 and increments before
    each request, reads included); the benchmark's workers share one client, so its unlocked
    `CID++` lets requests carry the same `Cid`, or overtake each other."""

    async def scenario(h: Harness) -> None:
        c = h.client
        # No `-id`: an empty Id, echoed as given.
        r = await c.put("/1", data=b"\x01", headers={"Id": "", "Cid": "1"})
        assert (r.status, r.headers["Id"], r.headers["Cid"]) == (200, "", "1")
        # A client process run twice: its Cid starts again at 1, under the same Id.
        for run_ in (b"a", b"b"):
            for cid in (1, 2, 3):
                r = await c.put(
                    "/2", data=run_ + bytes([cid]), headers={"Id": "1.1", "Cid": f"{cid}"}
                )
                assert r.status == 200
                r = await c.get("/2", headers={"Id": "1.1", "Cid": f"{cid}"})
                assert await r.read() == run_ + bytes([cid])
        # Workers racing on one counter: the same Cid on several writes, and a lower Cid after
        # a higher one. Each write is applied.
        cids = [5, 5, 5, 4, 7, 6, 6, 0]
        answers = await asyncio.gather(
            *(
                c.put(f"/race-{i}", data=bytes([i]), headers={"Id": "1.1", "Cid": str(cid)})
                for i, cid in enumerate(cids)
            )
        )
        assert [r.status for r in answers] == [200] * len(cids)
        assert [r.headers["Cid"] for r in answers] == [str(cid) for cid in cids]
        for i in range(len(cids)):
            r = await c.get(f"/race-{i}")
            assert await r.read() == bytes([i])
        # And one after another on the same key, with one Cid: each value replaces the last.
        for value in (b"x", b"y", b"z"):
            r = await c.put("/3", data=value, headers={"Id": "1.1", "Cid": "9"})
            assert r.status == 200
        r = await c.get("/3")
        assert await r.read() == b"z"
        # Paxi's JSON command (client.go, `json`): ClientID "" and CommandID 0 when unset.
        r = await c.post("/", json={"Key": 4, "Value": "AQI=", "ClientID": "", "CommandID": 0})
        assert (r.status, r.headers["Id"], r.headers["Cid"]) == (200, "", "0")
        r = await c.post("/", json={"Key": 4, "Value": None, "ClientID": "", "CommandID": 0})
        assert await r.read() == b"\x01\x02"

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
        first = await c.put("/k", data=b"1", headers=_once("client-1", 1))
        second = await c.post(
            "/",
            json={"Key": "k", "Value": "Mg==", "CommandID": 2, "ClientID": "client-1"},
            headers={"Pyxos-Session": "exactly-once"},
        )
        assert int(first.headers["Slot"]) < int(second.headers["Slot"])
        # Concurrent writes, which group commit may put in one batch: each still names the
        # slot that holds it.
        names = [f"many-{i}" for i in range(8)]
        many = await asyncio.gather(
            *(c.put(f"/{name}", data=b"v", headers=_once(name, 1)) for name in names)
        )
        log = await _log_slots(h)
        cid = client_id_of("client-1")
        assert int(first.headers["Slot"]) == log[f"{cid}.1"]
        assert int(second.headers["Slot"]) == log[f"{cid}.2"]
        for name, r in zip(names, many, strict=True):
            assert int(r.headers["Slot"]) == log[f"{client_id_of(name)}.1"]
        # Answered again from the session table, which keeps no slot: the applied index.
        retry = await c.put("/k", data=b"1", headers=_once("client-1", 1))
        assert retry.status == 409  # older than Cid 2: refused before the node sees it
        retry = await c.put("/k", data=b"2", headers=_once("client-1", 2))
        assert int(retry.headers["Slot"]) == h.runner.node.applied_upto

    run(scenario)


def test_post_root_sessions_from_the_body_or_the_headers() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        once = {"Pyxos-Session": "exactly-once"}
        command = {"Key": "j", "Value": "b25l", "ClientID": "1.1", "CommandID": 1}
        r = await c.post("/", json=command, headers=once)
        assert (r.status, r.headers["Id"], r.headers["Cid"]) == (200, "1.1", "1")
        r = await c.post("/", json={**command, "Value": "dHdv"}, headers=once)
        assert await r.read() == b""  # the retry gets the first answer
        r = await c.post("/", json={"Key": "j", "Value": "dHdv"}, headers=_once("1.1", 1))
        assert await r.read() == b""
        assert await h.value("j") == (200, {"key": "j", "value": "one"})
        r = await c.post("/", json={**command, "CommandID": 2}, headers={"Cid": "3"})
        assert (r.status, (await r.json())["code"]) == (400, "bad_header")
        r = await c.post("/", json={"Key": "j"}, headers=once)  # a read needs no session
        assert (r.status, await r.read()) == (200, b"one")

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
