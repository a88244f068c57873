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
async def cluster(tmp_path: Path, **node_options: object) -> AsyncIterator[list[pyxos.Node]]:
    config = pyxos.local_config(3, tmp_path)
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
