"""The peer transport on loopback, in one process: delivery, coalescing, garbage, reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.messages import Commit, Message, ViewChange
from pyxos.runtime.config import HostPort, Limits
from pyxos.runtime.ports import free_ports
from pyxos.runtime.transport import PeerTransport
from pyxos.wire.frames import encode_frame
from pyxos.wire.peer import PeerCodec

DEADLINE_S = 5.0
LIMITS = Limits(reconnect_ms_min=10, reconnect_ms_max=100)
M1, M2, M3 = (ViewChange(view=n) for n in (1, 2, 3))


async def until(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.002)


class Pair:
    def __init__(self) -> None:
        ports = free_ports(2)
        self.addresses = {n: HostPort(host="127.0.0.1", port=ports[n - 1]) for n in (1, 2)}
        self.got: dict[int, list[tuple[int, Message]]] = {1: [], 2: []}
        self.transports = {n: self.make(n) for n in (1, 2)}

    def make(self, node_id: int) -> PeerTransport:
        def deliver(sender: int, message: Message) -> bool:
            self.got[node_id].append((sender, message))
            return True

        return PeerTransport(
            node_id=node_id,
            cluster="c",
            listen=self.addresses[node_id],
            peers=self.addresses,
            deliver=deliver,
            limits=LIMITS,
        )

    async def start(self) -> None:
        for transport in self.transports.values():
            await transport.start()
        await until(lambda: all(t.connected_peers for t in self.transports.values()))

    async def close(self) -> None:
        for transport in self.transports.values():
            await transport.close()


def test_messages_arrive_in_order_in_one_write_per_turn() -> None:
    async def scenario() -> None:
        pair = Pair()
        await pair.start()
        one = pair.transports[1]
        commit = Commit(ballot=Ballot(1, 1), upto=3)
        one.send(2, M1)
        one.send(2, commit)
        one.send(2, M2)
        await until(lambda: len(pair.got[2]) == 3)
        assert pair.got[2] == [(1, M1), (1, commit), (1, M2)]
        assert one.counters.frames_sent == 3
        assert one.counters.writes == 1  # coalesced
        pair.transports[2].send(1, M3)  # the answer goes over the other direction's connection
        await until(lambda: pair.got[1] == [(2, M3)])
        await pair.close()

    asyncio.run(scenario())


def test_garbage_and_foreign_frames_are_dropped_and_counted() -> None:
    async def scenario() -> None:
        pair = Pair()
        await pair.start()
        two = pair.transports[2]
        reader, writer = await asyncio.open_connection("127.0.0.1", pair.addresses[2].port)
        writer.write(
            encode_frame(b"garbage")
            + encode_frame(PeerCodec(cluster="other").encode(sender=1, message=M1))
            + encode_frame(PeerCodec(cluster="c").encode(sender=9, message=M1))  # not a member
            + encode_frame(PeerCodec(cluster="c").encode(sender=2, message=M1))  # itself
            + encode_frame(PeerCodec(cluster="c").encode(sender=1, message=M2))  # fine
        )
        await writer.drain()
        await until(lambda: two.counters.frames_rejected == 4 and len(pair.got[2]) == 1)
        assert pair.got[2] == [(1, M2)]
        # An oversized length leaves no frame boundary: that connection is closed.
        writer.write(b"\xff\xff\xff\xff")
        await writer.drain()
        async with asyncio.timeout(DEADLINE_S):
            assert await reader.read() == b""
        writer.close()
        assert two.counters.connections_closed_bad_stream == 1
        # The node's own peers are unaffected.
        pair.transports[1].send(2, M3)
        await until(lambda: pair.got[2][-1] == (1, M3))
        await pair.close()

    asyncio.run(scenario())


def test_a_peer_that_comes_back_is_reconnected() -> None:
    async def scenario() -> None:
        pair = Pair()
        await pair.start()
        one = pair.transports[1]
        await pair.transports[2].close()
        await until(lambda: one.connected_peers == [])
        one.send(2, M1)
        assert one.counters.frames_dropped_unreachable >= 1
        pair.transports[2] = pair.make(2)
        await pair.transports[2].start()
        await until(lambda: one.connected_peers == [2])
        one.send(2, M2)
        await until(lambda: pair.got[2] == [(1, M2)])
        await pair.close()

    asyncio.run(scenario())


def test_a_peer_is_unreachable_while_down_or_silent_and_redialled_once_it_talks() -> None:
    async def scenario() -> None:
        pair = Pair()
        slow = Limits(reconnect_ms_min=30_000, reconnect_ms_max=30_000)  # no redial by backoff
        one = pair.transports[1] = PeerTransport(
            node_id=1,
            cluster="c",
            listen=pair.addresses[1],
            peers=pair.addresses,
            deliver=lambda sender, message: True,
            limits=slow,
        )
        await one.start()  # node 2 is not up: the dial is refused, and the link is down
        await until(lambda: one.unreachable(expected=(), silence_s=60) == [2])
        two = pair.transports[2]
        await two.start()
        await until(lambda: two.connected_peers == [1])
        # Node 1's dialer sleeps for 30 s; the first frame from node 2 wakes it.
        two.send(1, M1)
        await until(lambda: one.connected_peers == [2])
        assert one.unreachable(expected=(2,), silence_s=60) == []
        # A peer that should talk (a follower of a leader) and is silent is unreachable too.
        await until(lambda: one.unreachable(expected=(2,), silence_s=0.01) == [2])
        assert one.unreachable(expected=(), silence_s=0.01) == []
        await pair.close()

    asyncio.run(scenario())
