"""Paxi's HTTP client, benchmark and linearizability checker, reproduced to test pyxos with what
Paxi's own tools send (github.com/ailidani/paxi at 6823d0b; Go, so not run here).

What each part mirrors, and the behaviour that matters to a server:

- `PaxiClient` is `HTTPClient` (client.go). `Get` and `Put` both do `CID++` and then `rest`,
  which sends `GET /<key>` or `PUT /<key>` with the raw value, and the headers `Id` (the
  client's `-id`, an empty string without it) and `Cid` (the counter, read again when the header
  is set). Without `-id` every request goes to a node chosen at random (`GetURL`); with it, to
  that node. Any status but 200 is an error. A new client process starts with `CID` at 0.
- `run_benchmark` is `Benchmark.Run` with `T = 0` (benchmark.go) and the `db` of
  client/client.go: `Concurrency` workers share ONE client, hence one `Id` and one `CID`, which
  they increment without a lock: requests carry the same `Cid`, or a lower one after a higher
  one (`_racing_cid` makes that data race explicit). Each operation is a write of `rand.Int()`
  with probability `W`, else a read; a value travels as a uvarint in a 10-byte buffer
  (`binary.PutUvarint` into `MaxVarintLen64` bytes), and an empty value reads as 0. Every
  operation is recorded with its start and end; a failed one ends at "infinity".
- `anomalies` is Paxi's checker (checker.go, after Lu et al., "Existential Consistency",
  SOSP'15): per key, a graph of operations with an edge a -> b when a ended before b started; a
  read is merged into the write whose value it returned; a cycle makes that read an anomaly.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import aiohttp

VARINT_BYTES = 10  # Go's binary.MaxVarintLen64
NEVER = (1 << 63) - 1  # the end of an operation that failed (math.MaxInt64)


def put_uvarint(value: int) -> bytes:
    """`binary.PutUvarint` into a zeroed `MaxVarintLen64` buffer, as Paxi's client writes."""
    encoded = bytearray()
    while value >= 0x80:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded).ljust(VARINT_BYTES, b"\x00")


def read_uvarint(data: bytes) -> int:
    """`binary.Uvarint`, and 0 for an empty value (Paxi's `db.Read`)."""
    value = shift = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value
        shift += 7
    return 0


class PaxiError(Exception):
    """A request Paxi's client counts as failed: a status other than 200."""


@dataclass
class PaxiClient:
    """One Paxi client process: `http` maps Paxi node ids to base URLs; `id` is its `-id`."""

    http: Mapping[str, str]
    id: str
    session: aiohttp.ClientSession
    rng: random.Random
    cid: int = 0
    sent_cids: list[int] = field(default_factory=list)

    async def get(self, key: int) -> bytes:
        return await self._rest(key, None)

    async def put(self, key: int, value: bytes) -> None:
        await self._rest(key, value)

    async def _racing_cid(self) -> int:
        # `c.CID++` in Get/Put, unsynchronized: a load, a store of the load plus one, and another
        # load when `rest` sets the header; other workers may run between any two of them (a
        # goroutine is preempted anywhere), here for a random number of event-loop turns.
        seen = self.cid
        await self._preempted()
        self.cid = seen + 1
        await self._preempted()
        return self.cid

    async def _preempted(self) -> None:
        for _ in range(self.rng.randrange(3)):
            await asyncio.sleep(0)

    async def _rest(self, key: int, value: bytes | None) -> bytes:
        cid = await self._racing_cid()
        self.sent_cids.append(cid)
        node = self.id if self.id else self.rng.choice(sorted(self.http))
        url = f"{self.http[node]}/{key}"
        headers = {"Id": self.id, "Cid": str(cid)}
        method = "GET" if value is None else "PUT"
        async with self.session.request(method, url, data=value, headers=headers) as reply:
            body = await reply.read()
            if reply.status != 200:
                raise PaxiError(f"{method} {url}: {reply.status} {body[:200]!r}")
            return body


@dataclass
class Operation:
    """Paxi's `operation`: a write has `input`, a read `output`; times in ns from the start."""

    input: int | None
    output: int | None
    start: int
    end: int

    def happens_before(self, other: Operation) -> bool:
        return self.end < other.start

    def concurrent(self, other: Operation) -> bool:
        return not self.happens_before(other) and not other.happens_before(self)

    def __hash__(self) -> int:  # a vertex: identity, not value
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


@dataclass
class BenchmarkResult:
    history: dict[int, list[Operation]]
    errors: list[str]
    operations: int
    sent_cids: list[int]


async def run_benchmark(
    client: PaxiClient,
    *,
    operations: int,
    concurrency: int,
    keys: int,
    write_ratio: float,
    rng: random.Random,
) -> BenchmarkResult:
    """`Benchmark.Run` with `N = operations`, `T = 0`, uniform keys `0..keys-1`."""
    queue: asyncio.Queue[int | None] = asyncio.Queue(maxsize=concurrency)
    history: dict[int, list[Operation]] = {}
    errors: list[str] = []
    started = time.monotonic_ns()

    async def worker() -> None:
        while (key := await queue.get()) is not None:
            op = Operation(input=None, output=None, start=0, end=0)
            op.start = time.monotonic_ns() - started
            try:
                if rng.random() < write_ratio:
                    op.input = rng.getrandbits(63)  # rand.Int(): a non-negative int64
                    await client.put(key, put_uvarint(op.input))
                else:
                    op.output = read_uvarint(await client.get(key))
                op.end = time.monotonic_ns() - started
            except (PaxiError, aiohttp.ClientError, TimeoutError) as exc:
                errors.append(str(exc))
                op.end = NEVER
            history.setdefault(key, []).append(op)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    for _ in range(operations):
        await queue.put(rng.randrange(keys))
    for _ in workers:
        await queue.put(None)
    await asyncio.gather(*workers)
    return BenchmarkResult(
        history=history, errors=errors, operations=operations, sent_cids=client.sent_cids
    )


class _Graph:
    """lib/graph.go, as much of it as the checker uses; vertices in insertion order."""

    def __init__(self) -> None:
        self.out: dict[Operation, dict[Operation, None]] = {}
        self.into: dict[Operation, dict[Operation, None]] = {}

    def add(self, v: Operation) -> None:
        self.out.setdefault(v, {})
        self.into.setdefault(v, {})

    def remove(self, v: Operation) -> None:
        for u in self.out.pop(v):
            del self.into[u][v]
        for u in self.into.pop(v):
            del self.out[u][v]

    def add_edge(self, a: Operation, b: Operation) -> None:
        self.out[a][b] = None
        self.into[b][a] = None

    def remove_edge(self, a: Operation, b: Operation) -> None:
        self.out[a].pop(b, None)
        self.into[b].pop(a, None)

    def cycle(self) -> list[Operation] | None:
        """Like `Graph.Cycle`: on finding a cycle, every vertex still on the search path."""
        white, gray, black = 0, 1, 2
        colors = dict.fromkeys(self.out, white)

        def visit(v: Operation) -> bool:
            colors[v] = gray
            for u in list(self.out[v]):
                if colors[u] == gray or (colors[u] == white and visit(u)):
                    return True
            colors[v] = black
            return False

        for v in self.out:
            if colors[v] == white and visit(v):
                return [u for u, color in colors.items() if color == gray]
        return None


def _linearize_key(history: list[Operation]) -> list[Operation]:
    """`checker.linearizable` on one key's operations: the anomalous reads."""
    graph = _Graph()
    ops = sorted(history, key=lambda o: o.start)
    anomalies: list[Operation] = []

    def add(o: Operation) -> None:
        if o in graph.out:
            return  # already added by a look-ahead
        graph.add(o)
        for v in list(graph.out):
            if v is not o and v.happens_before(o):
                graph.add_edge(v, o)

    for i, o in enumerate(ops):
        add(o)
        if o.input is not None:
            continue  # a write
        # A read may return a write that starts after it: add the concurrent writes ahead.
        for later in _concurrent_after(ops, i):
            if later.output is None:
                add(later)
        match = next((v for v in graph.out if v.input == o.output), None)
        if match is not None:
            for s in list(graph.into[o]):
                if s is not match:
                    graph.add_edge(s, match)
            match.end = min(match.end, o.end)
            graph.remove(o)
        cycle = graph.cycle()
        if cycle is not None:
            anomalies.append(o)
            for u in cycle:
                for v in cycle:
                    if v in graph.out[u] and u.start > v.end:
                        graph.remove_edge(u, v)
    return anomalies


def _concurrent_after(ops: list[Operation], i: int) -> Iterator[Operation]:
    for later in ops[i + 1 :]:
        if not ops[i].concurrent(later):
            return
        yield later


def anomalies(history: Mapping[int, list[Operation]]) -> int:
    """`History.Linearizable`: the number of anomalous reads over every key (0: linearizable).
    Times are changed in place (a merged write's end), as Paxi's checker does."""
    return sum(len(_linearize_key(ops)) for ops in history.values())
