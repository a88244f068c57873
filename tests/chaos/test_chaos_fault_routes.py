"""The fault routes on one node's app: `/v1/admin/faults` and Paxi's `/crash?t=`, `/drop`,
`/slow`, `/flaky`; each refused with 404 `fault_injection_disabled` unless enabled, and a
crashed node refusing clients with 503 `unavailable` until the fault is healed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))

from service_harness import Harness, run

FAULT_ROUTES = [
    ("GET", "/v1/admin/faults"),
    ("POST", "/v1/admin/faults"),
    ("DELETE", "/v1/admin/faults"),
    ("GET", "/crash?t=1"),
    ("GET", "/drop?id=2&t=1"),
    ("GET", "/slow?id=2&delay=10&t=1"),
    ("GET", "/flaky?id=2&p=0.5&t=1"),
]


@pytest.mark.parametrize(("method", "path"), FAULT_ROUTES)
def test_every_fault_route_is_404_unless_fault_injection_is_on(method: str, path: str) -> None:
    async def scenario(h: Harness) -> None:
        r = await h.client.request(method, path, json={"kind": "crash", "duration_s": 1})
        assert r.status == 404
        assert (await r.json())["code"] == "fault_injection_disabled"
        assert not h.runner.faults.active

    run(scenario, members=(1, 2, 3))


def test_admin_faults_add_list_and_heal() -> None:
    async def scenario(h: Harness) -> None:
        r = await h.client.post(
            "/v1/admin/faults",
            json={"kind": "slow", "peers": [2], "delay_ms": 30, "duration_s": 60},
        )
        assert r.status == 200, await r.text()
        body = await r.json()
        assert body["ok"] and body["node"] == 1 and body["fault"]["delay_ms"] == 30
        r = await h.client.post(
            "/v1/admin/faults", json={"kind": "partition", "peers": [2, 3], "duration_s": 60}
        )
        assert r.status == 200
        r = await h.client.get("/v1/admin/faults")
        listed = await r.json()
        assert [f["kind"] for f in listed["faults"]] == ["slow", "partition"]
        assert set(listed["counters"]) >= {"dropped_out", "dropped_in", "delayed"}
        r = await h.client.delete("/v1/admin/faults")
        assert (await r.json()) == {"ok": True, "node": 1, "healed": 2}
        assert (await (await h.client.get("/v1/admin/faults")).json())["faults"] == []

    run(scenario, members=(1, 2, 3), fault_injection=True)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "melt", "duration_s": 1}, "invalid_body"),
        ({"kind": "drop", "peers": [1], "duration_s": 1}, "invalid_body"),
        ({"kind": "drop", "peers": [2], "duration_s": -1}, "invalid_body"),
        ({"kind": "drop", "peers": [2], "duration_s": 1, "extra": 1}, "invalid_body"),
        ({"kind": "drop"}, "invalid_body"),
    ],
)
def test_a_bad_fault_body_is_refused(body: dict[str, object], code: str) -> None:
    async def scenario(h: Harness) -> None:
        r = await h.client.post("/v1/admin/faults", json=body)
        assert r.status == 400
        assert (await r.json())["code"] == code
        assert not h.runner.faults.active

    run(scenario, members=(1, 2, 3), fault_injection=True)


def test_paxi_fault_routes() -> None:
    async def scenario(h: Harness) -> None:
        for path, kind in [
            ("/drop?id=2&t=30", "drop"),
            ("/slow?id=1.3&delay=25&t=30", "slow"),
            ("/flaky?id=2&p=0.25&t=30", "flaky"),
        ]:
            r = await h.client.get(path)
            assert r.status == 200, await r.text()
            assert (await r.json())["fault"]["kind"] == kind
        listed = (await (await h.client.get("/v1/admin/faults")).json())["faults"]
        assert [(f["kind"], f["peers"]) for f in listed] == [
            ("drop", [2]),
            ("slow", [3]),
            ("flaky", [2]),
        ]
        for bad in ("/drop?id=x&t=1", "/drop?id=2", "/slow?id=2&t=1", "/flaky?id=2&p=2&t=1"):
            r = await h.client.get(bad)
            assert r.status == 400, bad
            assert (await r.json())["code"] == "bad_request"

    run(scenario, members=(1, 2, 3), fault_injection=True)


def test_crash_for_t_seconds_refuses_clients_until_healed() -> None:
    async def scenario(h: Harness) -> None:
        assert (await h.client.put("/v1/kv/a", data=b"1")).status == 200
        r = await h.client.get("/crash", params={"t": "60"})
        assert r.status == 200
        assert (await r.json())["fault"]["kind"] == "crash"
        r = await h.client.put("/v1/kv/a", data=b"2")
        assert r.status == 503
        assert (await r.json())["code"] == "unavailable"
        r = await h.client.get("/v1/kv/a")
        assert r.status == 503
        # The admin routes still answer: that is how a crashed node is healed.
        assert (await h.client.get("/status")).status == 200
        assert (await h.client.delete("/v1/admin/faults")).status == 200
        r = await h.client.get("/v1/kv/a")
        assert (await r.json())["value"] == "1"

    run(scenario, fault_injection=True)


def test_fault_route_names_are_not_paxi_keys() -> None:
    async def scenario(h: Harness) -> None:
        for path in ("/drop", "/slow", "/flaky"):
            r = await h.client.put(path, data=b"v")
            assert r.status == 405, path

    run(scenario, fault_injection=True)
