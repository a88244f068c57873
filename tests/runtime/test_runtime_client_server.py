"""The fast client protocol server in one process, in front of a real `NodeRunner`: pipelined
requests, answers as they are ready and coalesced, checks, errors, bounds, and bad bytes that
close one connection and nothing else. Every wait polls with a deadline."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from random import Random
from typing import Any

import msgspec

from pyxos.core.config import ReplicaConfig
from pyxos.machines.kv import (
    Cas,
    Get,
    KvMachine,
    KvOp,
    List,
    Put,
    decode_list,
    decode_result,
    encode_op,
)
from pyxos.node.node import Node
from pyxos.runtime.client_server import ClientServer
from pyxos.runtime.config import HostPort, Limits
from pyxos.runtime.requests import CLIENT_ID_MIN
from pyxos.runtime.runner import NodeRunner
from pyxos.storage import MemoryLogStore
from pyxos.wire.client import (
    CLIENT_PROTOCOL_VERSION,
    KEY_BYTES_MAX,
    VALUE_BYTES_MAX,
    Hello,
    Request,
    Response,
    Welcome,
    decode_to_client,
    encode_message,
)
from pyxos.wire.frames import FrameDecoder, encode_frame

DEADLINE_S = 10.0
CLUSTER = "test-cluster"


class HoldStore(MemoryLogStore):
    """A memory store whose syncs wait while the test holds them."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()
        self.open.set()

    def sync(self) -> None:
        self.open.wait(DEADLINE_S)
        super().sync()


@asynccontextmanager
async def serving(
    *,
    members: tuple[int, ...] = (1,),
    store: MemoryLogStore | None = None,
    in_flight_max: int = 1024,
    **limits: int,
) -> AsyncIterator[ClientServer]:
    store = store if store is not None else MemoryLogStore()
    store.load()
    node = Node(
        config=ReplicaConfig(node_id=1, members=members), machine=KvMachine(), rng=Random(1)
    )
    failures: list[BaseException] = []
    runner = NodeRunner(
        node, store, limits=Limits(**limits), seq_base=0, on_failure=failures.append
    )
    runner.attach(lambda to, message: None)
    await runner.start()
    server = ClientServer(
        runner,
        cluster=CLUSTER,
        listen=HostPort(host="127.0.0.1", port=0),
        members={k: HostPort(host="127.0.0.1", port=9000 + k) for k in members},
        status=runner.status,
        in_flight_max=in_flight_max,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.close()
        await runner.stop()
    assert failures == []


class Raw:
    """A hand-driven client connection: frames out, decoded messages in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = FrameDecoder()
        self.received: list[Welcome | Response] = []

    @classmethod
    async def connect(cls, server: ClientServer, *, hello: bool = True) -> Raw:
        address = server.address
        raw = cls(*await asyncio.open_connection(address.host, address.port))
        if hello:
            raw.send(Hello(version=CLIENT_PROTOCOL_VERSION, cluster=CLUSTER))
            welcome = await raw.next()
            assert isinstance(welcome, Welcome)
        return raw

    def send(self, *messages: Hello | Request) -> None:
        self.writer.write(b"".join(encode_frame(encode_message(m)) for m in messages))

    async def next(self) -> Welcome | Response:
        while not self.received:
            async with asyncio.timeout(DEADLINE_S):
                data = await self.reader.read(65536)
            assert data, "the node closed the connection"
            self.received += [decode_to_client(p) for p in self.decoder.feed(data)]
        return self.received.pop(0)

    async def responses(self, count: int) -> dict[int, Response]:
        answers: dict[int, Response] = {}
        while len(answers) < count:
            message = await self.next()
            assert isinstance(message, Response)
            answers[message.id] = message
        return answers

    async def closed_after(self) -> list[Response]:
        """What the node sent before closing the connection (fails if it does not close)."""
        data = b""
        async with asyncio.timeout(DEADLINE_S):
            while chunk := await self.reader.read(65536):
                data += chunk
        return [m for m in map(decode_to_client, self.decoder.feed(data)) if type(m) is Response]

    def close(self) -> None:
        self.writer.close()


def write(request_id: int, op: KvOp, client_id: int | None = None, seq: int = 1) -> Request:
    return Request(
        id=request_id,
        kind="write",
        op=encode_op(op),
        client_id=CLIENT_ID_MIN + request_id if client_id is None else client_id,
        seq=seq,
    )


def read(request_id: int, op: KvOp, *, linearizable: bool = True) -> Request:
    return Request(id=request_id, kind="read", op=encode_op(op), linearizable=linearizable)


async def until(what: str, condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"{what}: not within {DEADLINE_S}s"
        await asyncio.sleep(0.001)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_the_welcome_names_the_node_and_the_members() -> None:
    async def scenario() -> None:
        async with serving(members=(1,)) as server:
            raw = await Raw.connect(server, hello=False)
            raw.send(Hello(version=CLIENT_PROTOCOL_VERSION))  # no cluster named: any will do
            welcome = await raw.next()
            assert welcome == Welcome(
                version=CLIENT_PROTOCOL_VERSION,
                cluster=CLUSTER,
                node=1,
                members={1: "127.0.0.1:9001"},
            )
            raw.close()

    run(scenario)


def test_pipelined_requests_on_one_connection() -> None:
    async def scenario() -> None:
        async with serving() as server:
            raw = await Raw.connect(server)
            count = 40
            # Everything in one write: 40 writes (each its own session), then reads of them.
            raw.send(*(write(i, Put(key=f"k{i}", value=b"v%d" % i)) for i in range(1, count + 1)))
            answers = await raw.responses(count)
            for i in range(1, count + 1):
                assert answers[i].ok, answers[i]
                assert decode_result(answers[i].result).value is None  # nothing was there
            raw.send(*(read(100 + i, Get(key=f"k{i}")) for i in range(1, count + 1)))
            raw.send(read(200, Get(key="k1"), linearizable=False))
            raw.send(read(201, List(prefix="k1", limit=100)))
            answers = await raw.responses(count + 2)
            for i in range(1, count + 1):
                assert decode_result(answers[100 + i].result).value == b"v%d" % i
            assert decode_result(answers[200].result).value == b"v1"
            listing = decode_list(answers[201].result)
            assert [k for k, _ in listing.items] == ["k1", *(f"k{i}" for i in range(10, 20))]
            # Answers are coalesced: fewer writes to the socket than answers.
            counters = server.counters
            assert counters.responses == 2 * count + 2
            assert counters.writes < counters.responses
            raw.close()

    run(scenario)


def test_answers_come_as_they_are_ready_not_in_request_order() -> None:
    async def scenario() -> None:
        store = HoldStore()
        async with serving(store=store) as server:
            raw = await Raw.connect(server)
            raw.send(write(1, Put(key="a", value=b"1")))  # the node elects itself meanwhile
            assert (await raw.responses(1))[1].ok
            store.open.clear()  # the next write cannot be made durable yet
            raw.send(write(2, Put(key="a", value=b"2")), Request(id=3, kind="status"))
            first = await raw.next()
            assert isinstance(first, Response) and first.id == 3
            status = msgspec.msgpack.decode(first.result)
            assert status["node"] == 1 and status["role"] == "leader"
            store.open.set()
            second = await raw.next()
            assert isinstance(second, Response) and second.id == 2
            assert decode_result(second.result).value == b"1"
            raw.close()

    run(scenario)


def test_one_group_commit_answers_many_writes_in_few_socket_writes() -> None:
    async def scenario() -> None:
        store = HoldStore()
        async with serving(store=store) as server:
            raw = await Raw.connect(server)
            raw.send(write(1, Put(key="warm", value=b"up")))
            await raw.responses(1)
            store.open.clear()
            before = server.counters.writes
            count = 50
            raw.send(*(write(i, Put(key=f"k{i}", value=b"x")) for i in range(2, count + 2)))
            await until("all requests read", lambda: server.counters.requests == count + 1)
            store.open.set()
            answers = await raw.responses(count)
            assert all(answer.ok for answer in answers.values())
            # The held sync and the one after it: a couple of flushes, not fifty.
            assert server.counters.writes - before <= 3
            raw.close()

    run(scenario)


def test_a_retried_write_with_the_same_session_is_applied_once() -> None:
    async def scenario() -> None:
        async with serving() as server:
            raw = await Raw.connect(server)
            session = CLIENT_ID_MIN + 77
            put = Put(key="n", value=b"1")
            cas = Cas(key="n", expected=b"1", value=b"2")
            raw.send(write(1, put, client_id=session, seq=1))
            await raw.responses(1)
            raw.send(write(2, cas, client_id=session, seq=2))
            raw.send(write(3, cas, client_id=session, seq=2))  # the same command again
            answers = await raw.responses(2)
            # Both copies get the first answer: the compare-and-set matched, once.
            for answer in answers.values():
                result = decode_result(answer.result)
                assert (result.ok, result.value) == (True, b"1")
            raw.send(read(4, Get(key="n")))
            assert decode_result((await raw.responses(1))[4].result).value == b"2"
            raw.close()

    run(scenario)


def test_bad_requests_are_answered_and_never_reach_the_log() -> None:
    async def scenario() -> None:
        async with serving() as server:
            raw = await Raw.connect(server)
            big_key = "k" * (KEY_BYTES_MAX + 1)
            raw.send(
                write(1, Put(key="a", value=b"v"), client_id=5),  # a node's own client id
                write(2, Put(key="a", value=b"v"), seq=0),
                Request(id=3, kind="write", op=b"\xc1garbage", client_id=CLIENT_ID_MIN, seq=1),
                write(4, Put(key=big_key, value=b"v")),
                write(5, Put(key="a", value=b"x" * (VALUE_BYTES_MAX + 1))),
                write(6, Cas(key="a", expected=b"x" * (VALUE_BYTES_MAX + 1), value=b"v")),
                read(7, Put(key="a", value=b"v")),
                write(8, List(prefix="", limit=1)),
                read(9, List(prefix=big_key, limit=1)),
                read(10, List(prefix="", limit=1, after=big_key)),
            )
            answers = await raw.responses(10)
            codes = {i: answers[i].status for i in answers}
            assert codes == {
                1: "bad_request",
                2: "bad_request",
                3: "bad_request",
                4: "too_large",
                5: "too_large",
                6: "too_large",
                7: "bad_request",
                8: "bad_request",
                9: "too_large",
                10: "too_large",
            }
            assert "client_id >= " in answers[1].message
            assert "not a key-value operation" in answers[3].message
            assert server.counters.requests_refused == 10
            raw.send(read(10, Get(key="a")))
            assert decode_result((await raw.responses(1))[10].result).value is None
            assert len(server.runner.node.sessions) == 0  # no command got to the log
            raw.close()

    run(scenario)


def test_no_leader_gets_no_quorum_and_a_closed_node_unavailable() -> None:
    async def scenario() -> None:
        # Three members, and the other two never answer: no leader can be established.
        async with serving(
            members=(1, 2, 3), request_timeout_ms=300, request_retry_ms=100
        ) as server:
            raw = await Raw.connect(server)
            raw.send(write(1, Put(key="a", value=b"v")), read(2, Get(key="a")))
            answers = await raw.responses(2)
            assert {answers[1].status, answers[2].status} == {"no_quorum"}
            assert "no leader" in answers[1].message
            raw.send(read(3, Get(key="a"), linearizable=False))  # a local read still works
            assert (await raw.responses(1))[3].ok
            await server.runner.stop()
            raw.send(write(4, Put(key="a", value=b"v")))
            assert (await raw.responses(1))[4].status == "unavailable"
            raw.close()

    run(scenario)


def test_a_connection_with_too_many_requests_in_flight_stops_taking_more() -> None:
    async def scenario() -> None:
        store = HoldStore()
        async with serving(store=store, in_flight_max=4) as server:
            raw = await Raw.connect(server)
            raw.send(write(1, Put(key="warm", value=b"up")))
            await raw.responses(1)
            store.open.clear()
            raw.send(*(write(i, Put(key=f"k{i}", value=b"x")) for i in range(2, 12)))
            await until("four requests taken", lambda: server.counters.requests == 5)
            # The rest wait (in the backlog, then in the socket) until answers make room.
            for _ in range(20):
                await asyncio.sleep(0)
            assert server.counters.requests == 5
            store.open.set()
            answers = await raw.responses(10)
            assert sorted(answers) == list(range(2, 12))
            raw.close()

    run(scenario)


def test_bad_bytes_close_that_connection_only() -> None:
    async def scenario() -> None:
        async with serving() as server:
            good = await Raw.connect(server)
            rng = random.Random(7)
            bad_streams: list[tuple[bool, bytes]] = [
                (False, rng.randbytes(3000)),  # garbage with no hello
                (True, rng.randbytes(3000)),  # garbage after a hello
                (True, b"\xff\xff\xff\xff"),  # a frame length over the maximum
                (True, encode_frame(b"\xc1")),  # a frame that is not msgpack
                (False, encode_frame(encode_message(Request(id=1, kind="status")))),
                (True, encode_frame(encode_message(Hello(version=CLIENT_PROTOCOL_VERSION)))),
                (False, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            ]
            for index, (hello, data) in enumerate(bad_streams, start=1):
                raw = await Raw.connect(server, hello=hello)
                raw.writer.write(data)
                answers = await raw.closed_after()
                assert [a.status for a in answers] in ([], ["bad_request"]), answers
                assert server.counters.connections_closed_bad_stream == index
            # A hello for another cluster, or another version, is refused with a reason.
            for hello_message, reason in [
                (Hello(version=CLIENT_PROTOCOL_VERSION, cluster="other"), "not 'other'"),
                (Hello(version=CLIENT_PROTOCOL_VERSION + 1), "protocol version"),
            ]:
                raw = await Raw.connect(server, hello=False)
                raw.send(hello_message)
                answers = await raw.closed_after()
                assert len(answers) == 1 and answers[0].id == 0
                assert reason in answers[0].message
            # The good connection and the node did not notice.
            good.send(write(1, Put(key="still", value=b"here")))
            assert (await good.responses(1))[1].ok
            good.send(read(2, Get(key="still")))
            assert decode_result((await good.responses(1))[2].result).value == b"here"
            assert server.runner.failure is None
            good.close()

    run(scenario)
