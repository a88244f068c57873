"""The workload clients: their calls go through the log, their beliefs follow the answers, and
their history gets the log time of each applied command."""

from __future__ import annotations

from random import Random

import msgspec

from pyxos.core.commands import Command
from pyxos.machines import locks
from pyxos.machines.router import CLOCK_OP, Routed
from pyxos.node.client_messages import ClientReply, ClientRequest
from pyxos.sim.options import WORKLOAD_KV, WORKLOADS, draw_workload, expand_options
from pyxos.sim.verdict import log_times
from pyxos.sim.workloads import LOCK_NAME, LockClient, QueueClient


def _lock_client(seed: int = 1) -> LockClient:
    return LockClient(
        1001,
        Random(seed),
        nodes=(1, 2, 3),
        ops=100,
        timeout_us_min=200_000,
        timeout_us_max=500_000,
    )


def _reply(request: ClientRequest, result: locks.LockResult) -> ClientReply:
    return ClientReply(
        client_id=request.client_id, seq=request.seq, result=locks.encode_result(result)
    )


def _call(client: LockClient, now: int, result: locks.LockResult) -> locks.LockOp:
    request = client.start(now)
    assert isinstance(request, ClientRequest)
    op = locks.decode_op(msgspec.msgpack.decode(request.op, type=Routed).op)
    assert client.on_reply(now + 1, 1, _reply(request, result))
    return op


def test_a_lock_client_uses_the_token_it_was_granted_until_told_otherwise() -> None:
    client = _lock_client()
    first = _call(
        client, 0, locks.LockResult(lock=LOCK_NAME, holder="c1001", token=7, granted=True)
    )
    assert isinstance(first, locks.Acquire)
    later = [
        _call(client, t, locks.LockResult(lock=LOCK_NAME, holder="c1001", token=7))
        for t in range(10, 60, 10)
    ]
    tokens = {
        op.token for op in later if isinstance(op, locks.Guarded | locks.Refresh | locks.Release)
    }
    assert tokens == {7}
    _call(client, 100, locks.LockResult(lock=LOCK_NAME, holder="c1002", token=8))
    assert isinstance(
        _call(client, 110, locks.LockResult(lock=LOCK_NAME)), locks.Acquire | locks.Cancel
    )


def test_a_waiter_counts_its_grant() -> None:
    client = _lock_client(seed=3)
    _call(client, 0, locks.LockResult(lock=LOCK_NAME, holder="c1002", token=1, position=1))
    assert not client.counts
    _call(client, 1, locks.LockResult(lock=LOCK_NAME, holder="c1001", token=2))
    assert client.counts == {"waiter_granted": 1}


def test_the_history_gets_log_times_and_unapplied_calls_are_left_out() -> None:
    client = QueueClient(1001, Random(1), nodes=(1,), ops=3, timeout_us_min=1, timeout_us_max=2)
    for now in (0, 10):
        request = client.start(now)
        assert isinstance(request, ClientRequest)
        client.on_reply(now + 1, 1, ClientReply(client_id=1001, seq=request.seq, result=b"\xc1"))
    client.start(20)  # never answered
    assert [op.time_ms for op in client.timed_history({(1001, 1): 5, (1001, 2): 9})] == [5, 9]
    assert len(client.timed_history({(1001, 1): 5, (1001, 2): 9, (1001, 3): 12})) == 3


def test_log_times_are_the_running_maximum_and_duplicates_do_not_count() -> None:
    def command(client_id: int, seq: int, time_ms: int, op: bytes = b"x") -> Command:
        return Command(client_id=client_id, seq=seq, op=op, time_ms=time_ms)

    log = {
        1: (command(1001, 1, 10),),
        2: (command(1001, 1, 8), command(0, 1, 8, CLOCK_OP)),  # a late copy; a stale stamp
        3: (),
        4: (command(1002, 1, 30),),
    }
    times = log_times(log)
    assert times.commands == {(1001, 1): 10, (1002, 1): 30}
    assert times.applied == [10, 10, 30]
    assert times.clock_commands == 1


def test_most_seeds_run_the_kv_workload_and_every_workload_occurs() -> None:
    drawn = [draw_workload(seed) for seed in range(1, 201)]
    assert drawn == [expand_options(seed).workload for seed in range(1, 201)]
    assert set(drawn) == set(range(len(WORKLOADS)))
    assert 120 <= drawn.count(WORKLOAD_KV) <= 160
