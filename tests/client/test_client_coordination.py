"""The Python client's coordination calls against a real 3-node cluster: leases and their
typed errors, a wait woken by a release, fenced writes, a lease kept alive in the background,
an election, ask, queues and the versioned map."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from client_cluster import FAILOVER_DEADLINE_S, ClientCluster

from pyxos.client import (
    AsyncClient,
    Client,
    HeldByYou,
    LockHeld,
    LockWaitTimeout,
    NotHolder,
    QueueEmpty,
    StaleToken,
    VersionConflict,
)

DEADLINE_S = FAILOVER_DEADLINE_S


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientCluster]:
    c = ClientCluster(tmp_path_factory.mktemp("coordination"))
    try:
        c.start_all()
        c.settled()
        yield c
    finally:
        c.close()


def test_leases_fenced_writes_ask_queues_and_the_map(cluster: ClientCluster) -> None:
    with Client(config=cluster.config, timeout_s=DEADLINE_S) as c:
        lease = c.lock_get("L", "alice", 30)
        assert lease.holder == "alice" and lease.token is not None
        with pytest.raises(LockHeld) as held:
            c.lock_get("L", "bob", 30)
        assert held.value.lease.holder == "alice"
        with pytest.raises(HeldByYou):
            c.lock_get("L", "alice", 30)
        assert c.lock_whose("L").token == lease.token
        assert c.lock_refresh("L", "alice", lease.token, 30).token == lease.token
        with pytest.raises(NotHolder):
            c.lock_refresh("L", "bob", lease.token, 30)
        with pytest.raises(LockWaitTimeout):
            c.lock_wait("L", "bob", 30, timeout_s=0.05)
        assert c.put_fenced("data", "1", lock="L", token=lease.token) is None
        c.lock_release("L", "alice", lease.token)
        assert c.lock_whose("L").holder is None
        with pytest.raises(StaleToken):
            c.put_fenced("data", "2", lock="L", token=lease.token)
        assert c.get("data") == b"1"

        assert c.ask("k") is None
        assert c.ask("k", "first") == b"first"
        assert c.ask("k", "second") == b"first"
        assert c.ask("k") == b"first"

        assert c.queue_push("q", "a") == 1
        assert c.queue_push("q", b"b") == 2
        assert c.queue_peek("q") == b"a"
        assert c.queue_pop("q") == b"a"
        assert c.queue_pop("q") == b"b"
        assert c.queue_peek("q") is None
        with pytest.raises(QueueEmpty):
            c.queue_pop("q")

        assert c.map_get("m") is None
        assert c.map_put("m", "v1", version=0) == 1
        assert c.map_put("m", "v2") == 2
        with pytest.raises(VersionConflict) as conflict:
            c.map_put("m", "v3", version=1)
        assert (conflict.value.version, conflict.value.value) == (2, b"v2")
        assert c.map_get("m") == (b"v2", 2)
        assert c.map_delete("m", version=2)
        assert not c.map_delete("m")


def test_a_wait_is_granted_by_the_release_and_a_lease_lives_on_in_the_background(
    cluster: ClientCluster,
) -> None:
    async def scenario() -> None:
        async with AsyncClient(config=cluster.config, timeout_s=DEADLINE_S) as c:
            first = await c.lock_get("W", "a", 30)
            assert first.token is not None
            waiting = asyncio.ensure_future(c.lock_wait("W", "b", 30, timeout_s=DEADLINE_S))
            await asyncio.wait([waiting], timeout=0.05)
            assert not waiting.done()
            await c.lock_release("W", "a", first.token)
            granted = await waiting
            assert granted.holder == "b" and granted.token is not None
            assert granted.token > first.token
            await c.lock_release("W", "b", granted.token)

            # A 0.6 s lease held for longer than its TTL: the background refreshes keep it.
            async with c.lock("bg", 0.6, owner="holder") as lease:
                expiry = (await c.lock_whose("bg")).expires_ms
                assert expiry is not None
                refreshed = 0
                async with asyncio.timeout(DEADLINE_S):
                    while refreshed < 3:
                        later = (await c.lock_whose("bg")).expires_ms
                        assert later is not None
                        if later > expiry:
                            refreshed, expiry = refreshed + 1, later
                assert not lease.lost.is_set()
                assert (await c.lock_whose("bg")).token == lease.token
            assert (await c.lock_whose("bg")).holder is None

    asyncio.run(scenario())


def test_an_election_has_one_leader_and_hands_over_on_resign(cluster: ClientCluster) -> None:
    async def scenario() -> None:
        async with AsyncClient(config=cluster.config, timeout_s=DEADLINE_S) as c:
            events: list[tuple[str, str]] = []
            elected = asyncio.Queue[str]()

            def candidate(name: str) -> tuple[Callable[[int], None], Callable[[], None]]:
                def on_elected(token: int) -> None:
                    events.append((name, "elected"))
                    elected.put_nowait(name)

                def on_lease_end() -> None:
                    events.append((name, "ended"))

                return on_elected, on_lease_end

            up, down = candidate("one")
            one = c.campaign("svc", owner="one", ttl_s=5, on_elected=up, on_lease_end=down)
            first = await asyncio.wait_for(elected.get(), DEADLINE_S)
            up, down = candidate("two")
            two = c.campaign("svc", owner="two", ttl_s=5, on_elected=up, on_lease_end=down)
            up, down = candidate("three")
            three = c.campaign("svc", owner="three", ttl_s=5, on_elected=up, on_lease_end=down)

            async def both_in_line() -> bool:
                line = await c.lock_whose("election/svc")
                return line.holder == "one" and line.waiting == 2

            deadline = asyncio.get_running_loop().time() + DEADLINE_S
            while not await both_in_line():  # the campaigns queue in the background
                assert asyncio.get_running_loop().time() < deadline, "candidates never queued"
                await asyncio.sleep(0.01)  # poll interval
            await three.resign()  # leaves the line: never elected
            assert first == "one" and await c.leader("svc") == "one"
            await one.resign()
            assert await asyncio.wait_for(elected.get(), DEADLINE_S) == "two"
            assert await c.leader("svc") == "two"
            assert events == [("one", "elected"), ("one", "ended"), ("two", "elected")]
            await two.resign()
            assert await c.leader("svc") is None

    asyncio.run(scenario())


def test_a_blocking_client_holds_a_lease_from_a_thread_and_knows_when_it_is_lost(
    cluster: ClientCluster,
) -> None:
    with Client(config=cluster.config, timeout_s=DEADLINE_S) as c:
        # A 0.6 s lease held for longer than its TTL: the refresh thread keeps it.
        with c.lock("sync-bg", 0.6, owner="holder") as lease:
            expiry = c.lock_whose("sync-bg").expires_ms
            assert expiry is not None
            refreshed, deadline = 0, time.monotonic() + DEADLINE_S
            while refreshed < 3:
                assert time.monotonic() < deadline, "the lease was not refreshed"
                later = c.lock_whose("sync-bg").expires_ms
                assert later is not None
                if later > expiry:
                    refreshed, expiry = refreshed + 1, later
            assert lease.held and not lease.lost.is_set()
            assert c.lock_whose("sync-bg").token == lease.token
        assert c.lock_whose("sync-bg").holder is None and lease.lost.is_set()

        # Someone releases it with the token: the next refresh hears not_holder.
        with c.lock("sync-taken", 0.6, owner="holder") as lease:
            c.lock_release("sync-taken", "holder", lease.token)
            assert lease.lost.wait(DEADLINE_S)
            assert not lease.held
