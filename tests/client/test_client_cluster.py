"""The Python client against a real 3-node cluster: the key-value API, finding the leader,
typed errors, and a write retried after the node it was sent to is killed, applied once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from client_cluster import FAILOVER_DEADLINE_S, ClientCluster, poll

from pyxos.client import (
    AsyncClient,
    BadRequest,
    CasMismatch,
    Client,
    Listing,
    Timeout,
    TooLarge,
    Unavailable,
)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClientCluster]:
    c = ClientCluster(tmp_path)
    try:
        c.start_all()
        c.settled()
        yield c
    finally:
        c.close()


def test_the_key_value_api(cluster: ClientCluster) -> None:
    leader = cluster.leader(cluster.ids)
    with Client(config=cluster.config, timeout_s=FAILOVER_DEADLINE_S) as kv:
        assert kv.put("greeting", "hello") is None
        assert kv.get("greeting") == b"hello"
        assert kv.put(b"greeting", b"\xffbye") == b"hello"  # bytes keys and any bytes values
        assert kv.get("greeting", consistency="stale") in (b"hello", b"\xffbye")
        assert kv.get("greeting") == b"\xffbye"
        assert kv.get("nobody") is None
        with pytest.raises(CasMismatch) as info:
            kv.cas("greeting", "hello", "again")
        assert info.value.current == b"\xffbye"
        kv.cas("greeting", b"\xffbye", "again")
        kv.cas("new", None, "created")  # None: only if absent
        with pytest.raises(CasMismatch) as info:
            kv.cas("new", None, "twice")
        assert info.value.current == b"created"
        assert kv.delete("greeting") == b"again"
        assert kv.delete("greeting") is None
        assert kv.get("greeting") is None
        kv.nop()
        kv.put("list/a", "1")
        kv.put("list/b", "2")
        assert kv.scan("list/") == Listing(
            items=(("list/a", b"1"), ("list/b", b"2")), truncated=False
        )
        assert kv.scan("list/", limit=1) == Listing(
            items=(("list/a", b"1"),), truncated=True, next="list/a"
        )
        assert kv.scan("list/", limit=1, after="list/a").next is None

        def on_the_leader() -> bool:
            status = kv.status()  # the connected node's
            return status.role == "leader" and kv.node == status.node == leader

        poll("the client moves to the leader", on_the_leader, FAILOVER_DEADLINE_S)


def test_scan_pages_with_the_next_cursor_reach_every_key_once(cluster: ClientCluster) -> None:
    keys = [f"page/{i:03d}" for i in range(250)]

    async def fill() -> None:
        async with AsyncClient(config=cluster.config, timeout_s=FAILOVER_DEADLINE_S) as kv:
            await asyncio.gather(*(kv.put(key, key) for key in keys))

    asyncio.run(fill())
    with Client(config=cluster.config, timeout_s=FAILOVER_DEADLINE_S) as kv:
        seen: list[str] = []
        sizes: list[int] = []
        after = ""
        while True:
            page = kv.scan("page/", limit=100, after=after)
            seen += [key for key, _ in page.items]
            sizes.append(len(page.items))
            if page.next is None:
                assert not page.truncated
                break
            after = page.next
    assert sizes == [100, 100, 50]
    assert seen == keys  # every key once, in order


def test_a_client_given_one_follower_finds_the_leader(cluster: ClientCluster) -> None:
    leader = cluster.leader(cluster.ids)
    follower = next(k for k in cluster.ids if k != leader)
    with Client(cluster.endpoints(follower)) as kv:
        kv.put("k", "v")

        def on_the_leader() -> bool:
            # At once if the follower already knew the leader; else after its next look.
            kv.get("k", consistency="stale")
            return kv.node == leader

        poll("the client moves to the leader", on_the_leader, FAILOVER_DEADLINE_S)

    # Pinned, it stays where it was sent.
    with Client(cluster.endpoints(follower), pinned=True) as kv:
        assert kv.get("k") == b"v"
        assert kv.node == follower


def test_a_client_that_started_before_the_election_moves_to_the_leader(tmp_path: Path) -> None:
    cluster = ClientCluster(tmp_path)
    try:
        cluster.start_all()  # serving, but likely no leader elected yet
        # Connected at once, likely before any leader: it follows the leader once there is one.
        with Client(cluster.endpoints(1), timeout_s=FAILOVER_DEADLINE_S) as kv:
            kv.put("k", "v")

            def on_the_leader() -> bool:
                kv.get("k")
                return kv.node == cluster.leader(cluster.ids)

            poll("the client follows the leader", on_the_leader, FAILOVER_DEADLINE_S)
    finally:
        cluster.close()


def test_typed_errors(cluster: ClientCluster) -> None:
    with Client(cluster.endpoints(), timeout_s=FAILOVER_DEADLINE_S) as kv:
        with pytest.raises(BadRequest, match="empty"):
            kv.put("", "v")
        with pytest.raises(TooLarge, match="key of 1025 bytes"):
            kv.get("k" * 1025)
        with pytest.raises(TooLarge, match="value of 1048577 bytes"):
            kv.put("k", b"x" * (1024 * 1024 + 1))
        with pytest.raises(BadRequest, match="consistency"):
            kv.get("k", consistency="eventual")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            kv.put("k", 5)  # type: ignore[arg-type]
        assert kv.get("k") is None  # nothing above reached the store
    with pytest.raises(Unavailable, match="no node reachable"):
        Client("127.0.0.1:1", timeout_s=5).get("k")
    # Another cluster's id: every node refuses the hello; nothing was done.
    with (
        Client(cluster.endpoints(), cluster="another", timeout_s=1) as kv,
        pytest.raises(Unavailable, match="cluster 'test-cluster', not 'another'"),
    ):
        kv.get("k")


def test_without_a_quorum_a_write_times_out_with_an_unknown_outcome(
    cluster: ClientCluster,
) -> None:
    with Client(cluster.endpoints(), timeout_s=FAILOVER_DEADLINE_S) as kv:
        kv.put("k", "before")
        survivor = kv.node
        assert survivor is not None
        for k in cluster.ids:
            if k != survivor:
                cluster.kill(k)
    with Client(cluster.endpoints(survivor), timeout_s=2.0, attempt_timeout_s=1.0) as kv:
        started = time.monotonic()
        with pytest.raises(Timeout, match="outcome is unknown"):  # or NoQuorum, a Timeout too
            kv.put("k", "after")
        assert time.monotonic() - started < 10
        assert kv.get("k", consistency="stale") == b"before"  # local reads still answer


def test_a_write_retried_after_its_node_is_killed_is_applied_once(
    cluster: ClientCluster,
) -> None:
    """Counters incremented by compare-and-set from concurrent sessions while the node the
    client talks to is killed: a retried increment applied twice would fail its own cas (the
    client would see CasMismatch) or count twice; each counter must end at exactly the number
    of increments its task saw succeed."""
    tasks_count = 4
    increments = 30

    async def scenario() -> None:
        async with AsyncClient(config=cluster.config, timeout_s=2 * FAILOVER_DEADLINE_S) as kv:
            await kv.put("warm", "up")
            victim = kv.node
            assert victim is not None
            done = [0] * tasks_count
            killed = asyncio.Event()

            async def incrementer(i: int) -> None:
                key = f"counter-{i}"
                await kv.put(key, "0")
                for n in range(increments):
                    await kv.cas(key, str(n), str(n + 1))  # CasMismatch fails the test
                    done[i] += 1
                    if n == increments // 3:
                        await killed.wait()

            async def killer() -> None:
                # Kill while every task has requests in flight, then let them go on.
                while min(done) < increments // 3:
                    await asyncio.sleep(0.001)
                await asyncio.to_thread(cluster.kill, victim)
                killed.set()

            await asyncio.gather(killer(), *(incrementer(i) for i in range(tasks_count)))
            assert kv.node != victim
            for i in range(tasks_count):
                assert await kv.get(f"counter-{i}") == str(increments).encode()
            assert done == [increments] * tasks_count

    asyncio.run(scenario())


def test_concurrent_writes_run_in_a_pool_of_sessions(cluster: ClientCluster) -> None:
    async def scenario() -> None:
        async with AsyncClient(cluster.endpoints(), sessions_max=8) as kv:
            await asyncio.gather(*(kv.put(f"k{i}", str(i)) for i in range(64)))
            values = await asyncio.gather(*(kv.get(f"k{i}") for i in range(64)))
            assert values == [str(i).encode() for i in range(64)]
            assert len(kv._sessions) <= 8  # at most sessions_max sessions were ever made

    asyncio.run(scenario())


def test_nodes_recover_and_the_client_follows(cluster: ClientCluster) -> None:
    """Stop everything; a client waiting meanwhile gets its answer once the nodes are back."""
    with Client(cluster.endpoints(), timeout_s=FAILOVER_DEADLINE_S) as kv:
        kv.put("k", "v1")
        cluster.terminate_all()
        cluster.start_all()

        def answered() -> bytes | None:
            try:
                return kv.get("k")
            except (Timeout, Unavailable):
                return None

        assert poll("a read after the restart", answered, FAILOVER_DEADLINE_S) == b"v1"
        assert kv.put("k", "v2") == b"v1"
