"""The client's retry rules against scripted fake nodes (in-process, no cluster): what is
retried, with which session, and which error ends it. Also endpoints, errors and exports."""

from __future__ import annotations

import asyncio
import concurrent.futures
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import msgspec
import pytest

import pyxos
from pyxos.client import (
    AsyncClient,
    BadRequest,
    NoQuorum,
    PyxosError,
    Timeout,
    TooLarge,
    Unavailable,
)
from pyxos.client.endpoints import parse_endpoints
from pyxos.client.errors import error_for
from pyxos.machines.kv import KvResult, encode_result
from pyxos.runtime.config import HostPort
from pyxos.runtime.ports import free_ports
from pyxos.wire.client import (
    CLIENT_ID_MIN,
    CLIENT_PROTOCOL_VERSION,
    Hello,
    Request,
    Response,
    Welcome,
    decode_to_node,
    encode_message,
)
from pyxos.wire.frames import FrameDecoder, encode_frame

OK_RESULT = encode_result(KvResult(value=b"old"))
Script = Callable[[Request], Response | None]  # None: never answer


class FakeNode:
    """A node that greets like a real one and answers requests as `script` says."""

    def __init__(self, node: int, script: Script, *, greet: bool = True) -> None:
        self.node = node
        self.script = script
        self.greet = greet
        self.requests: list[Request] = []  # every request but `status`
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return str(HostPort(host=host, port=port))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = FrameDecoder()
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            while data := await reader.read(65536):
                for payload in decoder.feed(data):
                    message = decode_to_node(payload)
                    answer: Welcome | Response | None
                    if isinstance(message, Hello):
                        answer = None
                        if self.greet:
                            answer = Welcome(
                                version=CLIENT_PROTOCOL_VERSION,
                                cluster="c",
                                node=self.node,
                                members={},
                            )
                    elif message.kind == "status":
                        answer = Response(id=message.id, status="ok", result=b"\x80")  # {}
                    else:
                        self.requests.append(message)
                        answer = self.script(message)
                    if answer is not None:
                        writer.write(encode_frame(encode_message(answer)))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self.tasks.discard(task)


@asynccontextmanager
async def fake_nodes(*nodes: FakeNode) -> AsyncIterator[str]:
    for node in nodes:
        node.server = await asyncio.start_server(node.handle, "127.0.0.1", 0)
    try:
        yield ",".join(node.address for node in nodes)
    finally:
        for node in nodes:
            assert node.server is not None
            node.server.close()
            for task in list(node.tasks):
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


def answer(status: str, result: bytes = b"", message: str = "scripted") -> Script:
    return lambda request: Response(id=request.id, status=status, result=result, message=message)


def test_a_write_is_retried_on_another_node_with_the_same_session() -> None:
    async def scenario() -> None:
        slow = FakeNode(1, answer("timeout", message="no answer; the outcome is unknown"))
        good = FakeNode(2, answer("ok", OK_RESULT))
        async with (
            fake_nodes(slow, good) as endpoints,
            AsyncClient(endpoints, timeout_s=5) as kv,
        ):
            assert await kv.put("k", "new") == b"old"
            assert await kv.put("k", "newer") == b"old"
        first, retry, second = (*slow.requests, *good.requests)
        assert (first.client_id, first.seq) == (retry.client_id, retry.seq)
        assert first.client_id >= CLIENT_ID_MIN and first.seq == 1
        assert first.op == retry.op
        # The next write of that session is the next seq (one session: one write at a time).
        assert (second.client_id, second.seq) == (first.client_id, 2)

    asyncio.run(scenario())


def test_no_quorum_everywhere_ends_in_no_quorum_after_the_deadline() -> None:
    async def scenario() -> None:
        nodes = [FakeNode(k, answer("no_quorum", message="no leader")) for k in (1, 2)]
        async with fake_nodes(*nodes) as endpoints, AsyncClient(endpoints, timeout_s=0.5) as kv:
            with pytest.raises(NoQuorum, match="outcome is unknown"):
                await kv.put("k", "v")
        assert len(nodes[0].requests) + len(nodes[1].requests) >= 3  # it kept trying

    asyncio.run(scenario())


def test_unavailable_everywhere_means_nothing_was_done() -> None:
    async def scenario() -> None:
        node = FakeNode(1, answer("unavailable", message="the node's inbox is full"))
        async with fake_nodes(node) as endpoints, AsyncClient(endpoints, timeout_s=0.5) as kv:
            with pytest.raises(Unavailable, match="inbox is full") as info:
                await kv.put("k", "v")
            assert not isinstance(info.value, Timeout)
        assert len(node.requests) >= 2  # retried after a backoff

    asyncio.run(scenario())


def test_bad_request_and_too_large_are_final_at_once() -> None:
    async def scenario() -> None:
        for status, error in (("bad_request", BadRequest), ("too_large", TooLarge)):
            node = FakeNode(1, answer(status))
            async with fake_nodes(node) as endpoints, AsyncClient(endpoints) as kv:
                with pytest.raises(error, match="scripted"):
                    await kv.put("k", "v")
            assert len(node.requests) == 1

    asyncio.run(scenario())


def test_a_node_that_stops_answering_is_left_and_the_outcome_is_unknown() -> None:
    async def scenario() -> None:
        mute = FakeNode(1, lambda request: None)
        async with (
            fake_nodes(mute) as endpoints,
            AsyncClient(endpoints, timeout_s=0.6, attempt_timeout_s=0.2) as kv,
        ):
            # Only waits the caller set are quoted: the call's 0.6 s, an attempt's 0.2 s.
            quoted = (
                r"^no answer within 0\.6 s \(no answer from node 1 "
                r"(within 0\.2 s|before the deadline)\); the outcome is unknown"
            )
            with pytest.raises(Timeout, match=quoted):
                await kv.put("k", "v")
        assert len(mute.requests) >= 2  # after each silent attempt, it reconnected and resent
        assert len({(r.client_id, r.seq) for r in mute.requests}) == 1

    asyncio.run(scenario())


def test_a_node_that_never_greets_is_unavailable() -> None:
    async def scenario() -> None:
        silent = FakeNode(1, answer("ok"), greet=False)
        async with (
            fake_nodes(silent) as endpoints,
            AsyncClient(endpoints, timeout_s=0.5, connect_timeout_s=0.1) as kv,
        ):
            with pytest.raises(Unavailable, match=r"no node reachable within 0\.5 s"):
                await kv.get("k")

    asyncio.run(scenario())


@contextmanager
def fake_nodes_in_a_thread(*nodes: FakeNode) -> Iterator[str]:
    """`fake_nodes` on an event loop of their own, for the blocking client."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    stop = asyncio.Event()
    ready: concurrent.futures.Future[str] = concurrent.futures.Future()

    async def serve() -> None:
        async with fake_nodes(*nodes) as endpoints:
            ready.set_result(endpoints)
            await stop.wait()

    served = asyncio.run_coroutine_threadsafe(serve(), loop)
    try:
        yield ready.result(timeout=10)
    finally:
        loop.call_soon_threadsafe(stop.set)
        served.result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def test_except_pyxos_timeout_catches_a_timeout_of_the_async_client() -> None:
    async def scenario() -> pyxos.Timeout:
        mute = FakeNode(1, lambda request: None)
        async with fake_nodes(mute) as endpoints, pyxos.AsyncClient(endpoints, timeout_s=0.3) as kv:
            try:
                await kv.get("k")
            except pyxos.Timeout as exc:
                return exc
        raise AssertionError("no timeout")

    error = asyncio.run(scenario())
    assert str(error) == "no answer within 0.3 s (no answer from node 1 before the deadline)"


def test_except_pyxos_timeout_catches_a_timeout_of_the_blocking_client() -> None:
    mute = FakeNode(1, lambda request: None)
    with fake_nodes_in_a_thread(mute) as endpoints, pyxos.Client(endpoints, timeout_s=0.3) as kv:
        try:
            kv.put("k", "v")
        except pyxos.Timeout as exc:
            assert "outcome is unknown" in str(exc)  # a write: it may still be applied
        else:
            raise AssertionError("no timeout")


def test_a_no_quorum_answer_names_the_unreachable_nodes_and_a_read_changed_nothing() -> None:
    async def scenario() -> None:
        ids = msgspec.msgpack.encode([2, 3])  # as a node sends them
        node = FakeNode(1, answer("no_quorum", ids, message="no quorum: nodes 2 and 3 are gone"))
        async with fake_nodes(node) as endpoints, AsyncClient(endpoints, timeout_s=30) as kv:
            with pytest.raises(NoQuorum) as info:
                await kv.get("k")
        assert info.value.unreachable == (2, 3)
        assert str(info.value) == "node 1: no quorum: nodes 2 and 3 are gone"  # no "outcome"
        assert len(node.requests) == 1  # no other node to try: a read ends at once

    asyncio.run(scenario())


def test_endpoints() -> None:
    assert parse_endpoints("a:1, b:2") == [HostPort(host="a", port=1), HostPort(host="b", port=2)]
    assert parse_endpoints(["[::1]:5", "0.0.0.0:6"]) == [
        HostPort(host="::1", port=5),
        HostPort(host="127.0.0.1", port=6),  # a wildcard is reached on loopback
    ]
    with pytest.raises(ValueError, match="bad endpoint"):
        parse_endpoints("nohost")
    with pytest.raises(ValueError, match="no endpoint"):
        parse_endpoints(" , ")


def test_errors_by_code() -> None:
    for code, kind in [
        ("bad_request", BadRequest),
        ("too_large", TooLarge),
        ("unavailable", Unavailable),
        ("timeout", Timeout),
        ("no_quorum", NoQuorum),
    ]:
        error = error_for(code, "m")
        assert type(error) is kind and error.code == code
    assert type(error_for("internal", "m")) is PyxosError
    assert issubclass(NoQuorum, Timeout)  # both: the outcome is unknown
    assert issubclass(TooLarge, BadRequest) and issubclass(BadRequest, ValueError)


def test_pyxos_exports_the_clients_lazily() -> None:
    code = (
        "import sys, pyxos\n"
        "assert 'pyxos.client' not in sys.modules and 'asyncio' not in sys.modules\n"
        "import pyxos.client\n"
        "assert pyxos.Client is pyxos.client.Client\n"
        "assert pyxos.AsyncClient is pyxos.client.AsyncClient\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    import pyxos

    with pytest.raises(AttributeError):
        _ = pyxos.Nothing  # type: ignore[attr-defined]


def test_a_read_that_no_reachable_node_can_serve_ends_at_once_a_write_retries() -> None:
    async def scenario() -> None:
        lonely = FakeNode(1, answer("no_quorum", message="no quorum: nodes 2 and 3 are down"))
        good = FakeNode(2, answer("ok", OK_RESULT))
        async with fake_nodes(lonely) as endpoints:
            gone = free_ports(1)[0]  # a member the client knows of, where nothing listens
            async with AsyncClient(f"{endpoints},127.0.0.1:{gone}", timeout_s=30) as kv:
                started = asyncio.get_running_loop().time()
                with pytest.raises(NoQuorum, match="nodes 2 and 3 are down"):
                    await kv.get("k")
                assert asyncio.get_running_loop().time() - started < 10  # not its 30 s
            async with AsyncClient(endpoints, timeout_s=0.5) as kv:
                with pytest.raises(NoQuorum, match="the outcome is unknown"):
                    await kv.put("k", "v")  # retried under its session until the deadline
            assert len(lonely.requests) >= 3
        # A node that can serve is tried before giving up.
        async with fake_nodes(lonely, good) as endpoints, AsyncClient(endpoints) as kv:
            assert await kv.get("k") == b"old"

    asyncio.run(scenario())
