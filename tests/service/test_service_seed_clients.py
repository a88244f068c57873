"""The seeds' own clients against a real three-node cluster, unchanged. Paxi's
(`paxi_client`): its benchmark twice in a row at concurrency 1, 8 and 64, with and without
`-id`, with no error and no anomaly for its own linearizability checker, and its `cmd` tool run
again and again. GoPaxos' benchmark suite (`go test -bench=. ./mytest`): every value it posts
is stored.

The benchmark's workers race on one `Cid` counter as Paxi's do: requests carry the same `Cid`
(asserted here), and one may carry a lower `Cid` than an earlier one; the exact sequences, which
a race cannot promise, are sent by test_service_paxi_routes."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from paxi_client import (
    Operation,
    PaxiClient,
    anomalies,
    put_uvarint,
    read_uvarint,
    run_benchmark,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "client"))

from client_cluster import ClientCluster

KEYS = 16  # few keys, so that operations on one key overlap and the checker has work to do
OPERATIONS_PER_WORKER = 12
OPERATIONS_MIN = 150
REQUEST_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientCluster]:
    started = ClientCluster(tmp_path_factory.mktemp("paxi"))
    try:
        started.start_all()
        started.settled()
        yield started
    finally:
        started.close()


def _paxi_ids(cluster: ClientCluster) -> dict[str, str]:
    """Paxi's `http_address`: node `1.k` of zone 1 is pyxos node k."""
    return {f"1.{k}": f"http://{cluster.http[k]}" for k in cluster.ids}


def test_the_checker_finds_what_paxis_checker_finds() -> None:
    """The examples of Paxi's checker_test.go (from the Existential Consistency paper)."""

    def w(value: int, start: int, end: int) -> Operation:
        return Operation(input=value, output=None, start=start, end=end)

    def r(value: int, start: int, end: int) -> Operation:
        return Operation(input=None, output=value, start=start, end=end)

    cases: list[tuple[list[Operation], int]] = [
        ([w(42, 0, 24)], 0),
        ([w(42, 0, 5), r(42, 3, 10)], 0),
        ([w(1, 0, 5), r(2, 6, 10), w(3, 11, 15), r(4, 16, 20)], 0),
        ([w(0, 0, 0), w(100, 0, 100), r(100, 5, 35), r(0, 30, 60)], 0),
        ([w(1, 0, 5), w(1, 0, 5), r(1, 6, 10), r(1, 6, 10)], 0),
        ([w(0, 0, 0), w(100, 0, 100), r(100, 5, 25), r(0, 30, 60)], 1),
        ([w(1, 0, 5), w(2, 6, 10), r(1, 11, 15)], 1),
        ([w(1, 0, 5), w(2, 0, 5), r(1, 6, 10), r(2, 6, 10)], 1),
        ([w(1, 0, 5), w(2, 6, 10), r(1, 11, 15), r(1, 12, 16)], 2),
        ([w(1, 0, 5), r(1, 6, 10), w(2, 7, 10), r(1, 11, 15)], 1),
    ]
    for ops, expected in cases:
        found = anomalies({0: ops})
        assert (found > 0, found if expected > 1 else None) == (
            expected > 0,
            expected if expected > 1 else None,
        ), ops


def test_values_travel_as_paxi_writes_them() -> None:
    assert put_uvarint(300) == b"\xac\x02" + bytes(8)
    for value in (0, 1, 127, 128, (1 << 63) - 1):
        assert len(put_uvarint(value)) == 10
        assert read_uvarint(put_uvarint(value)) == value
    assert read_uvarint(b"") == 0


async def _benchmark_twice(
    cluster: ClientCluster, *, concurrency: int, client_id: str, seed: int
) -> None:
    http = _paxi_ids(cluster)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    operations = max(OPERATIONS_MIN, OPERATIONS_PER_WORKER * concurrency)
    sent_before: set[int] = set()
    for run in range(2):  # a second client process: its Cid starts at 1 again, same Id
        rng = random.Random(seed * 10 + run)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            client = PaxiClient(http=http, id=client_id, session=session, rng=rng)
            result = await run_benchmark(
                client,
                operations=operations,
                concurrency=concurrency,
                keys=KEYS,
                write_ratio=0.5,
                rng=rng,
            )
        where = f"concurrency {concurrency}, -id {client_id!r}, run {run + 1}"
        assert result.errors == [], f"{where}: {len(result.errors)} errors: {result.errors[:3]}"
        assert sum(len(ops) for ops in result.history.values()) == operations
        assert anomalies(result.history) == 0, where
        cids = result.sent_cids
        assert run == 0 or sent_before & set(cids), f"{where}: no Cid of the first run again"
        if concurrency > 1:  # the workers raced on the shared counter, as Paxi's do
            assert len(set(cids)) < len(cids), f"{where}: no Cid was sent twice"
        sent_before |= set(cids)


@pytest.mark.parametrize("concurrency", [1, 8, 64])
@pytest.mark.parametrize("client_id", ["", "1.1"], ids=["no-id", "id"])
def test_paxis_benchmark_runs_twice_with_no_error_and_no_anomaly(
    cluster: ClientCluster, concurrency: int, client_id: str
) -> None:
    seed = concurrency * 2 + bool(client_id)
    asyncio.run(_benchmark_twice(cluster, concurrency=concurrency, client_id=client_id, seed=seed))


def test_paxis_cmd_tool_run_again_and_again(cluster: ClientCluster) -> None:
    """`cmd -id 1.2 put K V` is a new client process each time, so each put is `Cid: 1`."""

    async def cmd(session: aiohttp.ClientSession, *args: str) -> bytes:
        client = PaxiClient(http=_paxi_ids(cluster), id="1.2", session=session, rng=random.Random())
        if args[0] == "put":
            await client.put(int(args[1]), args[2].encode())
            return b""
        return await client.get(int(args[1]))

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            for value in ("first", "second", "third"):
                await cmd(session, "put", "77", value)
                assert await cmd(session, "get", "77") == value.encode()
            assert await cmd(session, "get", "78") == b""  # absent: Paxi prints an empty line

    asyncio.run(scenario())


GOPAXOS_VALUE_LENGTHS = (10, 1000)  # mytest/util.go: smallValLen, largeValLen
GOPAXOS_POSTS = 60


def _letters(rng: random.Random, length: int) -> str:
    return "".join(chr(rng.randrange(26) + 97) for _ in range(length))  # `randString`


def test_gopaxos_benchmark_stores_every_value_it_posts(cluster: ClientCluster) -> None:
    """mytest/util.go: `{"Key": 5 letters, "Value": 10 or 1000 letters}` posted to
    `/store/set/` of one node or round-robin over three (`request`), one after another or all at
    once (`asyncRequest`). Its benchmarks ignore the answers; here every one must be a 200, and
    every key must hold its value afterwards."""
    rng = random.Random(5)
    urls = [f"http://{cluster.http[k]}/store/set/" for k in cluster.ids]
    pairs = [
        (_letters(rng, 5) + str(i), _letters(rng, length))
        for i in range(GOPAXOS_POSTS)
        for length in GOPAXOS_VALUE_LENGTHS
    ]

    async def post(session: aiohttp.ClientSession, i: int, key: str, value: str) -> int:
        body = json.dumps({"Key": key, "Value": value}).encode()  # Go's json.Marshal of KVPair
        headers = {"Content-Type": "application/json"}
        async with session.post(urls[i % len(urls)], data=body, headers=headers) as reply:
            return reply.status

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            half = len(pairs) // 2
            statuses = [await post(session, i, k, v) for i, (k, v) in enumerate(pairs[:half])]
            statuses += await asyncio.gather(
                *(post(session, i, k, v) for i, (k, v) in enumerate(pairs[half:]))
            )
            assert statuses == [200] * len(pairs)
            for key, value in pairs:
                async with session.get(f"http://{cluster.http[1]}/v1/kv/{key}") as reply:
                    assert await reply.json() == {"key": key, "value": value}

    asyncio.run(scenario())
