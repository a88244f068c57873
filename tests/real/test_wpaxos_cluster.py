"""WPaxos on a real cluster: 3 zones x 3 nodes on loopback, each a `pyxos node` process.

What a user relies on: the `/v1`, Paxi and GoPaxos routes and the Python client round-trip
values (binary ones too) whichever node they reach; Paxi's exactly-once sessions apply a
retried command once; the coordination machines (all in the one object `@`) work, leases
expire with that object's log time; every object's log agrees across the nodes; `/status` and
`pyxos status` show owners instead of one leader; and what WPaxos cannot order (a fenced write,
a linearizable listing) is refused with 409 `unsupported_by_protocol` on HTTP, on the client
protocol (`pyxos.UnsupportedByProtocol`) and in the CLI, with nothing written.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

import pyxos
from pyxos.chaos.cluster import LocalCluster
from pyxos.cli.main import main
from pyxos.core.quorum import QuorumSpec
from pyxos.runtime.config import load_config

ZONES = 3
NODES = 9
DEADLINE_S = 20.0
POLL_S = 0.05
T = TypeVar("T")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    started = LocalCluster(
        tmp_path_factory.mktemp("wpaxos"),
        size=NODES,
        zones=ZONES,
        protocol="wpaxos",
        quorums=QuorumSpec(kind="grid", fz=0, fn=1),
        options=(("policy", "majority"),),
    )

    async def start() -> None:
        async with aiohttp.ClientSession() as session:
            await started.start_all(session)

    try:
        asyncio.run(start())
        yield started
    finally:
        started.close()


def poll(what: str, probe: Callable[[], T | None], deadline_s: float = DEADLINE_S) -> T:
    deadline = time.monotonic() + deadline_s
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {deadline_s} s: {what}")
        time.sleep(POLL_S)


def http(
    cluster: LocalCluster,
    k: int,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(
        f"http://{cluster.http[k]}{path}", data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def json_of(answer: tuple[int, bytes, dict[str, str]]) -> Any:
    return json.loads(answer[1])


def test_the_cluster_file_says_what_runs(cluster: LocalCluster) -> None:
    config = load_config(cluster.config)
    assert config.protocol == "wpaxos" and config.zoned
    assert config.options == (("policy", "majority"),)
    assert sorted(config.zones) == [1, 2, 3]
    assert cluster.ids == [1001, 1002, 1003, 2001, 2002, 2003, 3001, 3002, 3003]


def test_v1_put_get_delete_through_every_zone(cluster: LocalCluster) -> None:
    one, two, three = cluster.ids[0], cluster.ids[4], cluster.ids[8]
    assert json_of(http(cluster, one, "PUT", "/v1/kv/greeting", b"hello")) == {
        "key": "greeting",
        "previous": None,
    }
    assert json_of(http(cluster, two, "GET", "/v1/kv/greeting"))["value"] == "hello"
    binary = bytes(range(256))
    http(cluster, three, "PUT", "/v1/kv/blob", binary)
    got = json_of(http(cluster, one, "GET", "/v1/kv/blob"))
    assert got["encoding"] == "base64" and base64.b64decode(got["value"]) == binary
    deleted = json_of(http(cluster, three, "DELETE", "/v1/kv/greeting"))
    assert deleted["deleted"] is True and deleted["previous"] == "hello"
    status, body, _ = http(cluster, two, "GET", "/v1/kv/greeting")
    assert status == 404 and json.loads(body)["code"] == "key_not_found"
    cas = json.dumps({"expected": None, "value": "v1"}).encode()
    assert json_of(http(cluster, two, "POST", "/v1/cas/counter", cas))["ok"] is True


def test_paxi_and_gopaxos_routes(cluster: LocalCluster) -> None:
    a, b = cluster.ids[1], cluster.ids[7]
    labels = {"Id": "1.1", "Cid": "1"}
    assert http(cluster, a, "PUT", "/paxi-key", b"\x00\xffpaxi", headers=labels)[0] == 200
    status, body, headers = http(cluster, b, "GET", "/paxi-key", headers={**labels, "Cid": "2"})
    assert (status, body) == (200, b"\x00\xffpaxi")
    assert (headers["Cid"], headers["Pyxos-Found"]) == ("2", "true")
    # GoPaxos: the README's path form and its benchmark's JSON form.
    assert json_of(http(cluster, b, "GET", "/store/set/go-key/go%20value"))["previous"] is None
    assert json_of(http(cluster, a, "GET", "/store/get/go-key"))["value"] == "go value"
    body_json = json.dumps({"Key": "go-json", "Value": "v"}).encode()
    assert http(cluster, a, "POST", "/store/set", body_json)[0] == 200
    assert json_of(http(cluster, b, "GET", "/store/get/go-json"))["value"] == "v"


def test_an_exactly_once_session_applies_a_retry_once(cluster: LocalCluster) -> None:
    a, b = cluster.ids[0], cluster.ids[5]
    session = {"Id": "client-x", "Cid": "1", "Pyxos-Session": "exactly-once"}
    assert http(cluster, a, "PUT", "/once", b"first", headers=session)[0] == 200
    # The same command sent again, through another zone, with another value: not applied.
    assert http(cluster, b, "PUT", "/once", b"second", headers=session)[0] == 200
    assert http(cluster, a, "GET", "/once")[1] == b"first"
    stale = {**session, "Cid": "0"}
    assert http(cluster, b, "PUT", "/once", b"x", headers=stale)[0] == 400  # Cid >= 1
    later = {**session, "Cid": "2"}
    assert http(cluster, b, "PUT", "/once", b"third", headers=later)[0] == 200
    assert http(cluster, a, "GET", "/once")[1] == b"third"


def test_the_python_client_round_trips_through_any_node(cluster: LocalCluster) -> None:
    endpoints = [str(cluster.client[k]) for k in cluster.ids]
    with pyxos.Client(endpoints) as client:
        client.put("py-key", b"\x01\x02\x03")
        assert client.get("py-key") == b"\x01\x02\x03"
        assert client.ask("first-wins", "a") == b"a"
        assert client.ask("first-wins", "b") == b"a"
        assert client.queue_push("jobs", "j1") == 1
        assert client.map_put("m", "v") == 1
    for k in (cluster.ids[2], cluster.ids[6]):
        with pyxos.Client([str(cluster.client[k])], pinned=True) as pinned:
            assert pinned.get("py-key") == b"\x01\x02\x03"


def test_a_lease_expires_with_the_log_time_of_its_object(cluster: LocalCluster) -> None:
    a, b = cluster.ids[0], cluster.ids[8]
    grant = json.dumps({"owner": "alice", "ttl_ms": 600}).encode()
    held = json_of(http(cluster, a, "POST", "/v1/locks/db", grant))
    assert held["granted"] is True
    bob = json.dumps({"owner": "bob", "ttl_ms": 5000}).encode()
    status, body, _ = http(cluster, b, "POST", "/v1/locks/db", bob)
    assert status == 409 and json.loads(body)["code"] == "lock_held"

    def granted_to_bob() -> dict[str, Any] | None:
        status, body, _ = http(cluster, b, "POST", "/v1/locks/db", bob)
        return json.loads(body) if status == 200 else None

    second = poll("alice's lease expires and bob gets the lock", granted_to_bob)
    assert second["holder"] == "bob" and second["token"] > held["token"]
    # A waiter is woken by the expiry too, on another zone's node.
    carol = json.dumps({"owner": "carol", "ttl_ms": 2000, "wait": True, "timeout_ms": 15000})
    short = json.dumps({"owner": "dave", "ttl_ms": 500}).encode()
    assert json_of(http(cluster, a, "POST", "/v1/locks/wq", short))["granted"] is True
    woken = json_of(http(cluster, cluster.ids[4], "POST", "/v1/locks/wq", carol.encode()))
    assert woken["holder"] == "carol"


def test_what_wpaxos_cannot_order_is_refused(
    cluster: LocalCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    a = cluster.ids[3]
    grant = json.dumps({"owner": "fencer", "ttl_ms": 10000}).encode()
    token = json_of(http(cluster, a, "POST", "/v1/locks/fence", grant))["token"]
    status, body, _ = http(cluster, a, "PUT", f"/v1/kv/fenced?lock=fence&token={token}", b"v")
    refusal = json.loads(body)
    assert status == 409 and refusal["code"] == "unsupported_by_protocol"
    assert refusal["protocol"] == "wpaxos" and 'protocol = "multipaxos"' in refusal["message"]
    assert http(cluster, a, "GET", "/v1/kv/fenced?consistency=stale")[0] == 404  # not written
    status, body, _ = http(cluster, a, "DELETE", f"/v1/kv/fenced?lock=fence&token={token}")
    assert (status, json.loads(body)["code"]) == (409, "unsupported_by_protocol")
    status, body, _ = http(cluster, a, "GET", "/v1/kv?prefix=")
    assert (status, json.loads(body)["code"]) == (409, "unsupported_by_protocol")
    assert "consistency=stale" in json.loads(body)["message"]
    stale = json_of(http(cluster, a, "GET", "/v1/kv?prefix=&consistency=stale"))
    assert isinstance(stale["items"], list)
    # The same refusal on the client protocol, as the one error class.
    with pyxos.Client([str(cluster.client[a])], pinned=True) as client:
        with pytest.raises(pyxos.UnsupportedByProtocol, match="fenced write"):
            client.put_fenced("fenced", "v", lock="fence", token=token)
        with pytest.raises(pyxos.UnsupportedByProtocol, match="listing"):
            client.scan("")
        assert client.scan("", consistency="stale").items is not None
    # And in the CLI, which names the fix.
    code = main(["kv", "list", "--config", str(cluster.config)])
    err = capsys.readouterr().err
    assert code != 0 and "listing" in err and 'protocol = "multipaxos"' in err


def test_every_objects_log_agrees_and_status_shows_owners(
    cluster: LocalCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    a = cluster.ids[0]
    http(cluster, a, "PUT", "/v1/kv/logged", b"v")

    def objects_everywhere() -> list[dict[str, Any]] | None:
        answers = [json_of(http(cluster, k, "GET", "/log/objects")) for k in cluster.ids]
        held = [{o["object"]: o["last_slot"] for o in answer["objects"]} for answer in answers]
        same = all(h == held[0] for h in held) and "logged" in held[0]
        return answers[0]["objects"] if same else None

    objects = poll("every node applied every object's log", objects_everywhere)
    assert {"logged", "@"} <= {o["object"] for o in objects}
    prints = {http(cluster, k, "GET", "/log/print/x?object=logged")[1] for k in cluster.ids}
    assert len(prints) == 1 and b"put logged='v'" in prints.pop()
    status = json_of(http(cluster, a, "GET", "/status"))
    assert status["protocol"] == "wpaxos" and "objects_owned" in status["protocol_counters"]
    code = main(["status", "--config", str(cluster.config)])
    out = capsys.readouterr().out
    assert code == 0 and out.split()[:4] == ["NODE", "ROLE", "OWNS", "OBJECTS"]
    assert "1.1" in out and "3.3" in out
    status_code, body, _ = http(cluster, a, "GET", "/log/print/x")
    assert status_code == 200 and body  # this node's own apply order
    config = str(cluster.config)
    assert main(["check", "logs", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "compared the logs of" in out and "OK: every object's every slot agrees" in out
    assert main(["log", "dump", "--config", config, "--object", "logged"]) == 0
    assert "put logged='v'" in capsys.readouterr().out


def test_rebuild_is_refused_before_anything_moves(
    cluster: LocalCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    data = Path(cluster.config).parent / "node-1.1"
    before = sorted(p.name for p in data.iterdir())
    code = main(["node", "--config", str(cluster.config), "--id", "1.1", "--rebuild"])
    err = capsys.readouterr().err
    assert code == 2 and "wpaxos cannot rebuild" in err and "nothing was moved" in err
    assert sorted(p.name for p in data.iterdir()) == before
