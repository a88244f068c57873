"""The cluster view behind the status page: health, lag, quorum and the summary line, from
the statuses the members gave (pure), and from a node whose peers are dead (over HTTP)."""

from __future__ import annotations

import asyncio
import json
import socket

import msgspec
from service_harness import Harness, run

from pyxos.core.quorum import Majority
from pyxos.runtime.status import MemberAddress, NodeStatus, RequestRates, stopped
from pyxos.service.cluster_view import ClusterWatcher, Peer, build_view

MEMBERS = {
    str(n): MemberAddress(http=f"127.0.0.1:{8000 + n}", client=f"127.0.0.1:{9000 + n}", name=str(n))
    for n in (1, 2, 3)
}


def _status(
    node: int, role: str, *, view: int = 4, applied: int = 10, peers: tuple[int, ...] = ()
) -> NodeStatus:
    return msgspec.structs.replace(
        stopped(node),
        role=role,  # type: ignore[arg-type]
        leader=1 if role != "candidate" else None,
        view=view,
        decided_index=applied,
        applied_index=applied,
        name=str(node),
        cluster="c",
        http=MEMBERS[str(node)].http,
        members=MEMBERS,
        peers_connected=list(peers),
        requests=RequestRates(window_s=5, per_s=10.0 * node, p50_ms=node, p99_ms=2.0 * node),
    )


PEERS = [Peer(node=n, name=str(n), http=MEMBERS[str(n)].http) for n in (2, 3)]


def _view(current: dict[int, NodeStatus], errors: dict[int, str]) -> dict[str, object]:
    last = {n: _status(n, "follower", applied=3) for n in (1, 2, 3)}
    view = build_view(
        own=current[1],
        peers=PEERS,
        current=current,
        last={**last, **current},
        errors=errors,
        last_contact_s={1: 0.0, 2: 0.0, 3: 7.25},
        quorums=Majority((1, 2, 3)),
    )
    decoded: dict[str, object] = msgspec.to_builtins(view)
    return decoded


def test_every_member_up_with_its_lag_and_the_cluster_totals() -> None:
    view = _view(
        {
            1: _status(1, "leader", applied=12, peers=(2, 3)),
            2: _status(2, "follower", applied=12, peers=(1, 3)),
            3: _status(3, "follower", applied=9, peers=(1, 2)),
        },
        {},
    )
    assert (view["leader"], view["quorum"], view["up"]) == (1, True, 3)
    assert view["summary"] == "quorum: leader 1, 3 of 3 members up"
    members = view["members"]
    assert isinstance(members, list)
    assert [(m["node"], m["health"], m["has_quorum"], m["lag"]) for m in members] == [
        (1, "up", True, 0),
        (2, "up", True, 0),
        (3, "up", True, 3),
    ]
    requests = view["requests"]
    assert isinstance(requests, dict)
    assert (requests["per_s"], requests["p99_ms"]) == (60.0, 6.0)  # summed; the worst p99


def test_a_dead_member_is_down_with_its_last_status_and_the_time_since() -> None:
    view = _view(
        {1: _status(1, "leader", peers=(2, 3)), 2: _status(2, "follower", peers=(1, 3))},
        {3: "Connection refused"},
    )
    assert view["quorum"] is True
    assert view["summary"] == "quorum: leader 1, 2 of 3 members up (3 down)"
    members = view["members"]
    assert isinstance(members, list)
    dead = members[2]
    assert (dead["health"], dead["error"], dead["last_contact_s"]) == (
        "down",
        "Connection refused",
        7.2,
    )
    assert dead["has_quorum"] is False and dead["lag"] is None
    assert dead["status"]["applied_index"] == 3  # the last it gave


def test_a_majority_down_is_no_quorum_even_for_a_node_still_called_leader() -> None:
    # The leader has not noticed yet: it is still connected to 2, which is dead.
    view = _view({1: _status(1, "leader", peers=(2,))}, {2: "timeout", 3: "refused"})
    assert view["quorum"] is False
    assert view["summary"] == (
        "NO QUORUM: leader 1 cannot reach a quorum, 1 of 3 members up (2, 3 down)"
    )
    view = _view(
        {1: _status(1, "candidate", peers=(2, 3)), 2: _status(2, "candidate", peers=(1, 3))},
        {3: "refused"},
    )
    assert view["quorum"] is False
    assert view["summary"].startswith("no leader yet (an election is under way)")  # type: ignore[union-attr]
    view = _view({1: _status(1, "candidate")}, {2: "refused", 3: "refused"})
    assert view["summary"] == "NO QUORUM: no leader, 1 of 3 members up (2, 3 down)"


def test_the_cluster_route_of_a_lone_node_and_its_event_stream() -> None:
    async def scenario(h: Harness) -> None:
        await h.client.put("/v1/kv/k", data=b"v")  # a leader by now
        r = await h.client.get("/v1/cluster/status")
        assert r.status == 200
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        view = await r.json()
        assert (view["leader"], view["quorum"], view["served_by"]) == (1, True, 1)
        assert [(m["node"], m["health"]) for m in view["members"]] == [(1, "up")]
        assert view["members"][0]["status"]["requests"]["window_s"] == 5.0
        r = await h.client.get("/v1/cluster/events")
        assert r.headers["Content-Type"] == "text/event-stream"
        assert await r.content.readline() == b"retry: 2000\n"
        await r.content.readline()
        data = await r.content.readline()
        assert data.startswith(b"data: ")
        assert json.loads(data[6:])["members"][0]["health"] == "up"
        r.close()

    run(scenario)


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_peer_that_does_not_answer_is_down_within_the_fetch_deadline() -> None:
    hung = socket.socket()  # accepts connections and never answers
    hung.bind(("127.0.0.1", 0))
    hung.listen()
    members = {
        "1": MemberAddress(http="127.0.0.1:1", client="127.0.0.1:2", name="1"),
        "2": MemberAddress(http=f"0.0.0.0:{_refused_port()}", client="127.0.0.1:3", name="2"),
        "3": MemberAddress(http=f"127.0.0.1:{hung.getsockname()[1]}", client="127.0.0.1:4"),
    }
    own = msgspec.structs.replace(
        _status(1, "leader", peers=(2, 3)), members=members, http="127.0.0.1:1"
    )

    async def main() -> None:
        watcher = ClusterWatcher(
            node=1, status=lambda: own, quorums=Majority((1, 2, 3)), fetch_timeout_s=0.3
        )
        try:
            loop = asyncio.get_running_loop()
            began = loop.time()
            first, again = await asyncio.gather(watcher.view(), watcher.view())
            assert loop.time() - began < 2.0  # not one deadline after another
            assert first is again  # concurrent askers share one round
        finally:
            await watcher.close()
        assert [(m.name, m.health) for m in first.members] == [
            ("1", "up"),
            ("2", "down"),
            ("3", "down"),
        ]
        assert "refused" in (first.members[1].error or "").lower()
        assert first.members[2].error == "no answer within 0.3 s"
        assert first.members[1].last_contact_s is None  # never heard from since start
        assert not first.quorum and first.summary.startswith("NO QUORUM")

    try:
        asyncio.run(main())
    finally:
        hung.close()


def _wpaxos(node: int, owned: int, peers: tuple[int, ...]) -> NodeStatus:
    status = _status(node, "leader" if owned else "follower", view=0, peers=peers)
    return msgspec.structs.replace(
        status, protocol="wpaxos", protocol_counters={"objects_owned": owned, "objects": 5}
    )


def test_under_wpaxos_there_is_no_one_leader_and_no_lag() -> None:
    """Every member may own objects: the summary counts owners, and the cluster has quorum when
    the members that are up form quorums (here 2 of 3, one down)."""
    view = _view(
        {1: _wpaxos(1, 2, peers=(2,)), 2: _wpaxos(2, 3, peers=(1,))},
        {3: "connection refused"},
    )
    assert (view["leader"], view["quorum"], view["up"]) == (None, True, 2)
    assert view["summary"] == "quorum: 2 members own objects, 2 of 3 members up (3 down)"
    members = view["members"]
    assert isinstance(members, list)
    assert [m["lag"] for m in members] == [None, None, None]
    alone = _view({1: _wpaxos(1, 2, peers=())}, {2: "refused", 3: "refused"})
    assert alone["quorum"] is False
    assert str(alone["summary"]).startswith("NO QUORUM: the members up do not form quorums")
