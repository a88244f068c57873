"""Simulated clients: one operation at a time, retries of the same request, stale replies
ignored, one history entry per operation."""

from __future__ import annotations

from random import Random

import pytest

from pyxos.machines.kv import KvResult, encode_result
from pyxos.node.client_messages import ClientRead, ClientReply, ClientRequest, ReadReply
from pyxos.sim.clients import SimClient


def _client(ops: int = 50, seed: int = 1) -> SimClient:
    return SimClient(
        1001,
        Random(seed),
        nodes=(1, 2, 3),
        keys=("k1", "k2"),
        ops=ops,
        timeout_us_min=200_000,
        timeout_us_max=500_000,
    )


def _answer(request: ClientRequest | ClientRead, value: bytes | None) -> ClientReply | ReadReply:
    result = encode_result(KvResult(value=value))
    if isinstance(request, ClientRequest):
        return ClientReply(client_id=request.client_id, seq=request.seq, result=result)
    return ReadReply(client_id=request.client_id, read_id=request.read_id, result=result)


def test_writes_are_numbered_and_reads_have_their_own_ids() -> None:
    client = _client()
    seqs, read_ids = [], []
    for now in range(50):
        request = client.start(now)
        if isinstance(request, ClientRequest):
            seqs.append(request.seq)
        else:
            read_ids.append(request.read_id)
        assert client.on_reply(now, client.target, _answer(request, None))
    assert seqs == list(range(1, len(seqs) + 1)) and read_ids == list(range(1, len(read_ids) + 1))
    assert seqs and read_ids
    assert client.done and len(client.history) == 50


def test_one_operation_at_a_time() -> None:
    client = _client()
    client.start(0)
    with pytest.raises(RuntimeError):
        client.start(1)


def test_a_retry_resends_the_same_request_to_another_node() -> None:
    client = _client()
    request = client.start(10)
    first = client.target
    again = client.retry()
    assert again is request and client.target != first and client.attempt == 2


def test_a_stale_reply_is_ignored_and_the_first_reply_completes() -> None:
    client = _client(seed=4)
    while True:
        request = client.start(0)
        if isinstance(request, ClientRequest):
            break
        client.on_reply(0, 1, _answer(request, None))
    stale = ClientReply(client_id=1001, seq=request.seq - 1, result=encode_result(KvResult()))
    assert not client.on_reply(5, 2, stale)
    assert client.on_reply(7, 3, _answer(request, b"before"))
    assert not client.on_reply(8, 3, _answer(request, b"before"))  # a duplicate reply
    op = client.history[-1]
    assert (op.invoke, op.complete, op.output) == (0, 7, "before")
    assert client.last_good == 3


def test_a_pending_operation_has_an_unknown_outcome() -> None:
    client = _client()
    assert client.pending() is None
    client.start(3)
    pending = client.pending()
    assert pending is not None and pending.complete is None and pending.invoke == 3


def test_values_are_unique_per_operation() -> None:
    client = _client(ops=200)
    for now in range(200):
        request = client.start(now)
        client.on_reply(now, 1, _answer(request, None))
    written = [op.value for op in client.history if op.value is not None]
    assert len(written) == len(set(written)) > 0
