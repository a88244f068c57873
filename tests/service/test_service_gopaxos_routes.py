"""GoPaxos' routes: set (as its README, its driver and its benchmark send it), get, nop, the log
as text (with a gap), and `/crash` switched off."""

from __future__ import annotations

from service_harness import Harness, run
from yarl import URL

from pyxos.core.commands import Command
from pyxos.machines.kv import Noop, Put, encode_op

POOL = 1 << 32  # the client id of node 1's first pool slot, as the log shows it


def test_set_get_and_nop() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        r = await c.post("/store/set", json={"key": "k", "value": "v1"})
        assert (r.status, await r.json()) == (200, {"key": "k", "previous": None})
        r = await c.post("/store/set/", json={"key": "k", "value": "/wE=", "encoding": "base64"})
        assert await r.json() == {"key": "k", "previous": "v1"}
        r = await c.get("/store/get/k")
        assert await r.json() == {"key": "k", "value": "/wE=", "encoding": "base64"}
        r = await c.get("/store/get/missing")
        assert (r.status, (await r.json())["code"]) == (404, "key_not_found")
        before = h.runner.node.applied_upto
        r = await c.get("/store/nop")
        body = await r.json()
        assert r.status == 200
        assert body["ok"] is True
        assert body["applied_index"] > before
        assert list(h.runner.applied_log)[-1][1][0].op == encode_op(Noop())

    run(scenario)


def test_set_as_gopaxos_clients_send_it() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        # Its benchmark (mytest/util.go): `{"Key", "Value"}` posted to `/store/set/`, which its
        # Go server decoded without regard to case.
        body = b'{"Key":"bench","Value":"abcdefghij"}'
        headers = {"Content-Type": "application/json"}
        r = await c.post("/store/set/", data=body, headers=headers)
        assert (r.status, await r.json()) == (200, {"key": "bench", "previous": None})
        r = await c.post("/store/set", json={"KEY": "bench", "vAlUe": "2", "Encoding": "utf-8"})
        assert await r.json() == {"key": "bench", "previous": "abcdefghij"}
        # Its README: `curl -i localhost:<port>/store/set/<key>/<value>`, a GET.
        r = await c.get("/store/set/greeting/hello")
        assert (r.status, await r.json()) == (200, {"key": "greeting", "previous": None})
        r = await c.post("/store/set/greeting/bye")
        assert await r.json() == {"key": "greeting", "previous": "hello"}
        # The value is the last segment; the key may hold slashes; escapes are decoded.
        r = await c.get(URL("/store/set/a/b%2Fc/%FF%00", encoded=True))
        assert await r.json() == {"key": "a/b/c", "previous": None}
        r = await c.get("/store/set/empty/")
        assert r.status == 200
        assert await h.keys() == {
            "bench": "2",
            "greeting": "bye",
            "a/b/c": "/wA=",
            "empty": "",
        }
        r = await c.get("/store/set/only-a-key")
        body = await r.json()
        assert (r.status, body["code"]) == (400, "bad_request")
        assert "/store/set/<key>/<value>" in body["message"]
        r = await c.get(URL("/store/set/%FF/v", encoded=True))
        assert (r.status, (await r.json())["code"]) == (400, "bad_request")
        r = await c.put("/store/set/k/v")
        assert (r.status, r.headers["Allow"]) == (405, "GET, POST")

    run(scenario)


def test_log_print_one_line_per_slot() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        await c.post("/store/set", json={"key": "a b", "value": "x"})
        await c.put("/v1/kv/k", data=b"\xff")
        await c.delete("/v1/kv/k")
        await c.post("/v1/cas/k", json={"expected": None, "value": "v"})
        await c.get("/store/nop")
        r = await c.get("/log/print/log1")
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert await r.text() == (
            f"1 {POOL + 1}.1 put 'a b'='x'\n"
            f"2 {POOL + 1}.2 put k=0xff\n"
            f"3 {POOL + 1}.3 del k\n"
            f"4 {POOL + 1}.4 cas k None->'v'\n"
            f"5 {POOL + 1}.5 noop\n"
        )
        r = await c.get("/log/print/x.log", params={"from": "4", "to": "7"})
        assert (await r.text()).splitlines() == [
            f"4 {POOL + 1}.4 cas k None->'v'",
            f"5 {POOL + 1}.5 noop",
            "6 UNKNOWN",
            "7 UNKNOWN",
        ]

    run(scenario)


def test_log_print_shows_every_machines_commands_and_binary_values_as_hex() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        r = await c.post("/v1/locks/db", json={"owner": "alice", "ttl_ms": 60000})
        token = (await r.json())["token"]
        await c.put(f"/v1/kv/balance?lock=db&token={token}", data=b"100")
        await c.post("/v1/ask/leader", data=b"n1")
        await c.post("/v1/queues/jobs", data=b"\x00\x01")
        await c.put("/v1/map/m?version=0", data=b"v")
        await c.put("/7", data=b"\x96\xb1\xe4\x03" + bytes(6))  # Paxi: a uvarint in 10 bytes
        r = await c.get("/log/print/log")
        ops = [line.split(" ", 2)[2] for line in (await r.text()).splitlines()]
        assert ops == [
            "locks acquire db alice ttl=60000ms",
            f"locks guarded db token={token}: put balance='100'",
            "ask ask leader='n1'",
            "queue push jobs 0x0001",
            "map update m='v' version=0",
            "put 7=0x96b1e403000000000000",
        ]

    run(scenario)


def test_log_print_marks_the_slots_this_node_lacks_unknown() -> None:
    async def scenario(h: Harness) -> None:
        for i in range(3):
            await h.client.put(f"/v1/kv/k{i}", data=b"v")
        log = h.runner.applied_log
        # As after a snapshot install: the node holds slot 3 but not 1 and 2.
        log.popleft()
        log.popleft()
        r = await h.client.get("/log/print/default.log")
        assert (await r.text()).splitlines() == [
            "1 UNKNOWN",
            "2 UNKNOWN",
            f"3 {POOL + 1}.3 put k2='v'",
        ]
        # A batch of several commands, and an empty one.
        batch = (
            Command(client_id=7, seq=1, op=encode_op(Put(key="x", value=b"1"))),
            Command(client_id=8, seq=2, op=b"\xc1"),
        )
        log.append((4, batch))
        log.append((5, ()))
        r = await h.client.get("/log/print/f", params={"from": "3", "to": "5"})
        assert (await r.text()).splitlines()[1:] == ["4 7.1 put x='1'; 8.2 bad c1", "5 noop"]

    run(scenario)


def test_log_print_refuses_unsafe_file_names() -> None:
    async def scenario(h: Harness) -> None:
        for path in ("/log/print/a%2Fb", "/log/print/%2E%2E", "/log/print/a%5Cb", "/log/print/a/b"):
            r = await h.client.get(URL(path, encoded=True))
            assert (r.status, (await r.json())["code"]) == (400, "bad_file_name"), path
        r = await h.client.get("/log/print/" + "f" * 256)
        assert (r.status, (await r.json())["code"]) == (400, "bad_file_name")

    run(scenario)


def test_crash_is_404_unless_fault_injection_is_on() -> None:
    async def scenario(h: Harness) -> None:
        r = await h.client.get("/crash")
        assert r.status == 404
        assert (await r.json())["code"] == "fault_injection_disabled"
        assert h.runner.failure is None

    run(scenario)
