"""Embedded nodes in one process (one event loop, real sockets, real disks): commands through
`propose` and `call`, reads, role changes, applied commands, retries by request id, failing
commands, and the built-in machines next to a custom one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TypeVar

import msgspec
import pytest
from ledger import Fail, Ledger, Record

import pyxos
import pyxos.embed
from pyxos.embed import AppliedCommand, RoleChange
from pyxos.machines import kv
from pyxos.runtime.status import NodeStatus, stopped

T = TypeVar("T")
DEADLINE_S = 20.0


class Counter(pyxos.Replicated):
    def __init__(self) -> None:
        self.value = 0

    @pyxos.replicated
    def add(self, n: int, note: str = "") -> int:
        self.value += n
        return self.value

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.value)

    def restore(self, data: bytes) -> None:
        self.value = msgspec.msgpack.decode(data, type=int)


@asynccontextmanager
async def cluster(
    tmp_path: Path, *, config: pyxos.embed.ClusterConfig | None = None, **node_options: object
) -> AsyncIterator[list[pyxos.Node]]:
    config = config or pyxos.local_config(3, tmp_path)
    async with AsyncExitStack() as stack:
        nodes = []
        for k in (1, 2, 3):
            machines = {"ledger": Ledger(), "counter": Counter(), **pyxos.builtin_machines()}
            node = pyxos.Node(config, k, machines, **node_options)  # type: ignore[arg-type]
            nodes.append(await stack.enter_async_context(node))
        yield nodes


async def until(what: str, check: Callable[[], T | None]) -> T:
    """Poll `check` on the event loop until it answers; fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not reached within {DEADLINE_S}s")
        await asyncio.sleep(0.02)


def test_commands_reads_and_notifications(tmp_path: Path) -> None:
    roles: list[RoleChange] = []

    async def main() -> None:
        async with cluster(tmp_path, on_role_change=roles.append) as nodes:
            applied = nodes[2].applied()
            assert await nodes[0].propose(Record(id="a"), machine="ledger") == 1
            assert await nodes[1].propose(Record(id="b"), machine="ledger") == 2
            # Linearizable reads on every node see both.
            for node in nodes:
                assert await node.read(lambda m: dict(m.counts), machine="ledger") == {
                    "a": 1,
                    "b": 1,
                }
            assert await nodes[2].call(Counter.add, 5) == 5
            assert await nodes[0].call(Counter.add, 2, note="x") == 7
            with pytest.raises(pyxos.CommandFailed, match="ValueError: no"):
                await nodes[0].propose(Fail(reason="no"), machine="ledger")
            # The built-in store, next to them on the same log, through its bytes API.
            put = kv.encode_op(kv.Put(key="k", value=b"v"))
            assert kv.decode_result(await nodes[1].propose(put, machine="kv")).ok
            got = await nodes[2].read(kv.encode_op(kv.Get(key="k")), machine="kv")
            assert kv.decode_result(got).value == b"v"
            # The applied commands of the typed machines, seen on node 3.
            seen: list[AppliedCommand] = []
            async for event in applied:
                seen.append(event)
                if len(seen) == 5:
                    break
            applied.close()
            assert [e.command for e in seen[:2]] == [Record(id="a"), Record(id="b")]
            assert seen[2].command == ("add", (5, ""))
            assert seen[4].error == "ValueError: no"
            assert all(e.request_id is not None for e in seen)
            assert sum(n.is_leader for n in nodes) == 1
        assert any(r.is_leader for r in roles)
        # Stopping the leader reports that it lost leadership.
        assert not roles[-1].is_leader

    asyncio.run(main())


def test_a_retry_with_the_same_request_id_is_applied_once(tmp_path: Path) -> None:
    async def main() -> None:
        async with cluster(tmp_path) as nodes:
            node = nodes[0]
            with pytest.raises(pyxos.Timeout) as caught:
                # A deadline too short to be met: the outcome is unknown.
                await node.propose(Record(id="x"), machine="ledger", timeout=0)
            request_id = caught.value.request_id
            assert request_id is not None
            await node.propose(Record(id="y"), machine="ledger")
            size = await node.propose(Record(id="x"), machine="ledger", request_id=request_id)
            again = await node.propose(Record(id="x"), machine="ledger", request_id=request_id)
            assert size == again
            for n in nodes:
                counts = await n.read(lambda m: dict(m.counts), machine="ledger")
                assert counts == {"x": 1, "y": 1}

    asyncio.run(main())


def test_a_restarted_node_recovers_its_machines_from_disk(tmp_path: Path) -> None:
    async def main() -> None:
        config = pyxos.local_config(1, tmp_path, timers={"snapshot_every_slots": 3})
        for round_ in range(2):
            async with pyxos.Node(config, 1, {"ledger": Ledger()}) as node:
                for i in range(5):
                    await node.propose(Record(id=f"{round_}.{i}"))
                counts = await node.read(lambda m: dict(m.counts))
        assert len(counts) == 10 and set(counts.values()) == {1}

    asyncio.run(main())


def test_the_blocking_node(tmp_path: Path) -> None:
    config = pyxos.local_config(1, tmp_path)
    with pyxos.SyncNode(config, 1, Counter()) as node:
        assert node.call(Counter.add, 3) == 3
        assert node.read(lambda c: c.value, consistency="local") == 3
        assert node.is_leader
        # Its status is the typed one `/status` and the clients give.
        status = node.status()
        assert isinstance(status, NodeStatus)
        assert (status.role, status.leader) == ("leader", 1)
        assert status.applied_index >= 1
        assert status.requests.window_s > 0
    assert node.status() == stopped(1)
    with pytest.raises(pyxos.Unavailable):
        asyncio.run(pyxos.Node(config, 1, Counter()).call(Counter.add, 1))


def test_a_call_is_retried_exactly_once_with_its_request_id(tmp_path: Path) -> None:
    async def main() -> None:
        async with cluster(tmp_path) as nodes:
            node = nodes[0]
            add = pyxos.Call(Counter.add, 5, note="once")
            with pytest.raises(pyxos.Timeout) as caught:
                await node.propose(add, timeout=0)  # too short: the outcome is unknown
            request_id = caught.value.request_id
            assert request_id is not None
            assert await node.propose(add, request_id=request_id) == 5
            assert await node.propose(add, request_id=request_id) == 5  # answered, not applied
            assert await node.call(Counter.add, 1) == 6
            for n in nodes:
                assert await n.read(lambda c: c.value, machine="counter") == 6
            with pytest.raises(TypeError, match="no machine="):
                await node.propose(add, machine="counter")

    asyncio.run(main())


def test_except_pyxos_timeout_catches_a_timeout_of_the_embedded_node(tmp_path: Path) -> None:
    """One node of three, alone: no quorum. It says so, names the nodes it cannot reach, and
    quotes no wait longer than the caller's deadline."""

    async def main() -> None:
        config = pyxos.local_config(3, tmp_path)
        async with pyxos.Node(config, 1, Counter()) as node:
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                await node.call(Counter.add, 1)
            except pyxos.Timeout as exc:
                caught = exc
            assert isinstance(caught, pyxos.NoQuorum)
            assert caught.unreachable == (2, 3)
            assert str(caught).startswith("no quorum: nodes 2 and 3 are unreachable")
            assert "outcome is unknown" in str(caught) and caught.request_id is not None
            # Within the first retry of the node (request_retry_ms), not its 5 s deadline.
            assert loop.time() - started < 2.5
            with pytest.raises(pyxos.NoQuorum) as read:
                await node.read(lambda c: c.value, timeout=0.2)
            assert read.value.unreachable == (2, 3)
            assert "0.2 s" in str(read.value) and "outcome" not in str(read.value)
            assert (node.status().quorum, node.status().unreachable) == (False, [2, 3])

    asyncio.run(main())


def test_an_async_client_takes_a_local_config(tmp_path: Path) -> None:
    async def main() -> None:
        config = pyxos.local_config(3, tmp_path)
        async with (
            cluster(tmp_path, serve_clients=True, default="kv", config=config),
            pyxos.AsyncClient(config=config) as client,  # the config the nodes run
        ):
            await client.put("k", "v")
            assert await client.get("k") == b"v"
        with pytest.raises(TypeError, match="a cluster file's path or a ClusterConfig"):
            pyxos.AsyncClient(config=3)  # type: ignore[arg-type]
        # Nodes that do not serve clients (or are not running): the error says what to check.
        quiet = pyxos.local_config(1, tmp_path / "quiet")
        async with pyxos.AsyncClient(config=quiet) as client:
            with pytest.raises(pyxos.Unavailable, match=r"serve_clients=True"):
                await client.get("k")

    asyncio.run(main())
