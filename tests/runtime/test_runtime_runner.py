"""`NodeRunner` in one process: effects in order behind the Persist barrier, group commit,
fail-stop, bounded queues, client retries. The store is `MemoryLogStore` (or one whose syncs a
test lets through one at a time); the transport is a list."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable, Coroutine, Sequence
from random import Random
from typing import Any

import pytest

from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot
from pyxos.core.io import Persist, Send
from pyxos.core.multipaxos.messages import Commit, Message, ViewChange
from pyxos.core.multipaxos.records import DecidedValue, Promised, Record
from pyxos.machines.kv import Get, KvMachine, Put, decode_result, encode_op
from pyxos.node.node import Node
from pyxos.runtime.config import Limits
from pyxos.runtime.requests import CLIENT_ID_MIN, ClientPool, NoQuorum, Unavailable
from pyxos.runtime.runner import NodeRunner
from pyxos.storage import MemoryLogStore, StorageFailed

DEADLINE_S = 5.0
R1, R2, R3 = (Promised(ballot=Ballot(n, 1)) for n in (1, 2, 3))
M1, M2, M3 = (ViewChange(view=n) for n in (1, 2, 3))


class GatedStore(MemoryLogStore):
    """A memory store whose `sync` waits for the test to let it through."""

    def __init__(self) -> None:
        super().__init__()
        self.entered: queue.Queue[int] = queue.Queue()
        self.permits: queue.Queue[int] = queue.Queue()
        self.appends: list[list[Record]] = []

    def append(self, records: Sequence[Record]) -> None:
        self.appends.append(list(records))
        super().append(records)

    def sync(self) -> None:
        self.entered.put(1)
        self.permits.get(timeout=DEADLINE_S)
        super().sync()


class Harness:
    def __init__(
        self,
        *,
        members: tuple[int, ...] = (1, 2, 3),
        store: MemoryLogStore | None = None,
        limits: Limits | None = None,
        tick_ms: int | None = None,
    ) -> None:
        self.store = store if store is not None else MemoryLogStore()
        self.store.load()
        config = ReplicaConfig(node_id=1, members=members)
        node = Node(config=config, machine=KvMachine(), rng=Random(7))
        self.failures: list[BaseException] = []
        self.sent: list[tuple[int, Message]] = []
        self.runner = NodeRunner(
            node,
            self.store,
            limits=limits or Limits(),
            seq_base=0,
            on_failure=self.failures.append,
            tick_ms=tick_ms,
        )
        self.runner.attach(lambda to, message: self.sent.append((to, message)))


async def until(condition: Callable[[], bool]) -> None:
    """Poll `condition` on the event loop until it holds or the deadline passes."""
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.001)


def run(coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(coro())


# A tick so long that no tick happens during a test: only the effects a test injects run.
NO_TICKS_MS = 1_000_000


def test_a_send_after_a_barrier_waits_for_the_sync() -> None:
    async def scenario() -> None:
        h = Harness(store=GatedStore(), tick_ms=NO_TICKS_MS)
        store = h.store
        assert isinstance(store, GatedStore)
        await h.runner.start()
        h.runner._executor.execute([Persist(records=(R1,)), Send(to=2, message=M1)])
        await asyncio.to_thread(store.entered.get, True, DEADLINE_S)
        assert h.sent == []  # the sync has not completed
        store.permits.put(1)
        await until(lambda: len(h.sent) == 1)
        assert h.sent == [(2, M1)]
        assert store.durable == (R1,)
        await h.runner.stop()

    run(scenario)


def test_one_sync_covers_everything_appended_while_the_previous_ran() -> None:
    async def scenario() -> None:
        h = Harness(store=GatedStore(), tick_ms=NO_TICKS_MS)
        store = h.store
        assert isinstance(store, GatedStore)
        runner = h.runner
        await runner.start()
        runner._executor.execute([Persist(records=(R1,)), Send(to=2, message=M1)])
        await asyncio.to_thread(store.entered.get, True, DEADLINE_S)
        # While sync 1 runs: two more persists (one not a barrier), each followed by a send.
        runner._executor.execute([Persist(records=(R2,)), Send(to=3, message=M2)])
        runner._executor.execute([Persist(records=(R3,), barrier=False), Send(to=2, message=M3)])
        assert h.sent == []
        store.permits.put(1)
        await until(lambda: len(h.sent) == 1)
        await asyncio.to_thread(store.entered.get, True, DEADLINE_S)
        assert h.sent == [(2, M1)]  # M2 and M3 still wait for R2
        store.permits.put(1)
        await until(lambda: len(h.sent) == 3)
        assert h.sent == [(2, M1), (3, M2), (2, M3)]  # in order
        assert store.appends == [[R1], [R2, R3]]  # two syncs for three persists
        assert runner.disk_counters.syncs == 2
        await runner.stop()

    run(scenario)


def test_a_non_barrier_persist_neither_waits_nor_syncs_alone() -> None:
    async def scenario() -> None:
        h = Harness(store=GatedStore(), tick_ms=NO_TICKS_MS)
        store = h.store
        assert isinstance(store, GatedStore)
        runner = h.runner
        await runner.start()
        runner._executor.execute([Persist(records=(R1,), barrier=False), Send(to=2, message=M1)])
        assert h.sent == [(2, M1)]
        assert runner._executor.writer.in_flight is None  # no sync for it alone...
        runner._executor.execute([Persist(records=(R2,)), Send(to=3, message=M2)])
        await asyncio.to_thread(store.entered.get, True, DEADLINE_S)
        store.permits.put(1)
        await until(lambda: len(h.sent) == 2)
        assert store.appends == [[R1, R2]]  # ...it rides with the next one
        assert store.durable == (R1, R2)
        await runner.stop()

    run(scenario)


def test_the_ticker_syncs_non_barrier_records() -> None:
    async def scenario() -> None:
        h = Harness(members=(1,), tick_ms=1)
        runner = h.runner
        await runner.start()
        runner._executor.execute([Persist(records=(R1,), barrier=False)])
        await until(lambda: R1 in h.store.durable)
        await runner.stop()

    run(scenario)


def test_a_failed_sync_stops_the_node_and_nothing_gated_is_sent() -> None:
    async def scenario() -> None:
        store = MemoryLogStore()
        h = Harness(store=store, tick_ms=NO_TICKS_MS)
        store.fail_next_sync()
        runner = h.runner
        await runner.start()
        runner._executor.execute([Persist(records=(R1,)), Send(to=2, message=M1)])
        await until(lambda: bool(h.failures))
        assert isinstance(h.failures[0], StorageFailed)
        assert isinstance(runner.failure, StorageFailed)
        assert h.sent == []
        assert runner.receive(2, M2) is False
        with pytest.raises(Unavailable):
            await runner.write(b"x")
        # A later effect of the dead node is not sent either: everything is gated or stopped.
        assert h.sent == []

    run(scenario)


def test_a_message_to_oneself_skips_the_transport() -> None:
    async def scenario() -> None:
        h = Harness(tick_ms=NO_TICKS_MS)
        await h.runner.start()
        commit = Commit(ballot=Ballot(0, 1), upto=0)
        h.runner._executor.execute([Send(to=1, message=commit), Send(to=2, message=commit)])
        assert h.sent == [(2, commit)]
        await until(lambda: h.runner.counters.steps == 1)
        await h.runner.stop()

    run(scenario)


def test_the_inbox_is_bounded() -> None:
    async def scenario() -> None:
        h = Harness(limits=Limits(inbox_max=2), tick_ms=NO_TICKS_MS)
        runner = h.runner
        await runner.start()
        # The stepper cannot run between these calls: the third finds the inbox full.
        assert runner.receive(2, M1)
        assert runner.receive(2, M2)
        assert not runner.receive(2, M3)
        assert runner.counters.peer_messages_dropped == 1
        await until(lambda: runner.counters.steps == 2)
        assert runner.receive(2, M3)
        await runner.stop()

    run(scenario)


def test_a_single_node_cluster_writes_and_reads() -> None:
    async def scenario() -> None:
        h = Harness(members=(1,))
        runner = h.runner
        await runner.start()
        first = decode_result(await runner.write(encode_op(Put(key="k", value=b"v1"))))
        assert first.value is None
        second = decode_result(await runner.write(encode_op(Put(key="k", value=b"v2"))))
        assert second.value == b"v1"
        read = decode_result(await runner.read(encode_op(Get(key="k"))))
        assert read.value == b"v2"
        stale = decode_result(await runner.read(encode_op(Get(key="k")), linearizable=False))
        assert stale.value == b"v2"
        status = runner.status()
        assert status.role == "leader"
        assert status.applied_index >= 2
        await runner.stop()
        # A clean stop synced everything appended, decided values included.
        assert any(isinstance(r, DecidedValue) for r in h.store.durable)
        assert h.failures == []

    run(scenario)


def test_write_at_answers_the_slot_of_the_command() -> None:
    async def scenario() -> None:
        h = Harness(members=(1,))
        runner = h.runner
        await runner.start()
        op = encode_op(Put(key="k", value=b"v"))
        _, first = await runner.write_at(op)
        assert first == runner.node.applied_upto
        session = (CLIENT_ID_MIN, 1)
        result, second = await runner.write_at(op, session=session)
        assert second == runner.node.applied_upto > first
        # A session answered before is answered from the session table, which keeps no slot.
        assert await runner.write_at(op, session=session) == (result, 0)
        await runner.stop()

    run(scenario)


def test_an_unanswered_write_is_retried_then_times_out() -> None:
    async def scenario() -> None:
        # Peers never answer (the transport is a list), so no leader is ever established.
        limits = Limits(request_timeout_ms=300, request_retry_ms=50)
        h = Harness(limits=limits)
        runner = h.runner
        await runner.start()
        with pytest.raises(NoQuorum, match=r"no leader was established within 0\.3 s") as info:
            await runner.write(encode_op(Put(key="k", value=b"v")))
        assert info.value.unreachable == ()  # no transport: it cannot tell which
        assert info.value.request_id is not None  # a write: the session it ran under
        assert runner.counters.client_retries >= 2
        assert runner.counters.client_timeouts == 1
        assert runner.status().clients_in_use == 0
        await runner.stop()

    run(scenario)


def test_a_write_after_stop_is_unavailable() -> None:
    async def scenario() -> None:
        h = Harness(members=(1,))
        await h.runner.start()
        await h.runner.stop()
        with pytest.raises(Unavailable):
            await h.runner.write(b"x")

    run(scenario)


def test_client_pool_reuses_ids_with_rising_seqs() -> None:
    pool = ClientPool(node_id=2, size=2, seq_base=5 << 32)
    a = pool.acquire()
    assert a == (2 << 32 | 1, (5 << 32) + 1)
    b = pool.acquire()
    assert b[0] == 2 << 32 | 2
    with pytest.raises(Unavailable):
        pool.acquire()
    pool.release(a[0])
    again = pool.acquire()
    assert again == (a[0], a[1] + 1)  # the same id, the next seq
    assert pool.in_use == 2


def test_snapshots_are_saved_and_a_restart_recovers_from_them() -> None:
    async def scenario() -> None:
        store = MemoryLogStore()
        store.load()
        config = ReplicaConfig(node_id=1, members=(1,), snapshot_every_slots=5)

        def runner_on(node: Node) -> NodeRunner:
            runner = NodeRunner(
                node, store, limits=Limits(), seq_base=0, on_failure=failures.append
            )
            runner.attach(lambda to, message: None)
            return runner

        failures: list[BaseException] = []
        runner = runner_on(Node(config=config, machine=KvMachine(), rng=Random(1)))
        await runner.start()
        for i in range(12):
            await runner.write(encode_op(Put(key=f"k{i}", value=b"v")))
        await runner.stop()
        assert runner.disk_counters.snapshots_saved >= 2
        loaded = store.load()
        assert loaded.snapshot is not None
        assert loaded.snapshot.slot >= 10
        node = Node(
            config=config,
            machine=KvMachine(),
            rng=Random(2),
            durable=loaded.records,
            snapshot=loaded.snapshot,
        )
        runner = runner_on(node)
        await runner.start()
        for i in range(12):
            answer = await runner.read(encode_op(Get(key=f"k{i}")))
            assert decode_result(answer).value == b"v"
        await runner.stop()
        assert failures == []

    run(scenario)
