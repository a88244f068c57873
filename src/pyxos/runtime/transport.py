"""The peer transport: length-prefixed msgpack frames over TCP between the nodes of a cluster.

Theory of operation. Every node listens on its peer address and dials every other node once:
node a sends to node b only over the connection a opened, and b answers over the one it opened
to a. So each connection carries frames one way, there is no handshake, and a reconnect is
never a race between two dialers. Every frame carries an `Envelope` (envelope version, cluster
id, protocol, sender id); the receiver checks it and hands `(sender, message)` to the runner.

Sending never blocks the node. `send` encodes the frame and appends it to the peer's pending
list; the first frame of a turn schedules a flush with `call_soon`, so everything the node sends
to one peer in one event-loop iteration leaves in one `write` (one system call). While a peer is
unreachable, or its socket has more than `peer_buffer_bytes_max` unsent, frames for it are
dropped and counted: Paxos already survives message loss (it retransmits), and an unbounded
queue for a dead peer would only grow. A dialer whose connection fails retries with exponential
backoff from `reconnect_ms_min` to `reconnect_ms_max`, reset by a successful connect.

Receiving never crashes the node. An inbound connection feeds an incremental `FrameDecoder`;
a frame that does not decode, comes from another cluster or protocol version, or names a sender
that is not a member (or is this node) is dropped with a log line and a counter. A declared
frame length above the maximum leaves no frame boundary to resynchronise on, so that connection
is closed (the peer, if it is one, reconnects).

Reachability. The transport remembers when it last heard from each peer and whether its link to
each is down (the last connection attempt failed, or the connection was lost), and answers
`unreachable`: the runtime names those peers when it cannot reach a quorum. A frame from a peer
whose link is down wakes that link's dialer once, so a peer that restarted is dialled again at
once instead of at the end of a backoff of up to `reconnect_ms_max`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import cast

from pyxos.core.ids import NodeId
from pyxos.core.io import PeerMessage as Message
from pyxos.core.protocol import ProtocolSpec
from pyxos.runtime.batching import WriteBatcher
from pyxos.runtime.config import HostPort, Limits
from pyxos.wire.errors import LocalProtocolError, RemoteProtocolError
from pyxos.wire.frames import FrameDecoder, encode_frame
from pyxos.wire.peer import PeerCodec

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0


@dataclass(slots=True)
class TransportCounters:
    frames_sent: int = 0
    writes: int = 0
    frames_received: int = 0
    frames_dropped_unreachable: int = 0
    frames_dropped_backlog: int = 0
    frames_rejected: int = 0
    connections_closed_bad_stream: int = 0
    connects: int = 0
    connect_failures: int = 0


class PeerTransport:
    """Inbound server plus one outbound link per peer. `start()`, `send(...)`, `close()`."""

    def __init__(
        self,
        *,
        node_id: NodeId,
        cluster: str,
        listen: HostPort,
        peers: Mapping[NodeId, HostPort],
        deliver: Callable[[NodeId, Message], bool],
        limits: Limits,
        protocol: ProtocolSpec | None = None,
    ) -> None:
        self.node_id = node_id
        self.cluster = cluster
        self._codec = PeerCodec(cluster=cluster, protocol=protocol)
        self._listen = listen
        self._deliver = deliver
        self._limits = limits
        self._members = frozenset(peers) | {node_id}
        self._links = {
            peer: _Link(self, peer, address) for peer, address in peers.items() if peer != node_id
        }
        self._server: asyncio.Server | None = None
        self._inbound: set[_Inbound] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heard_at: dict[NodeId, float] = {}  # loop time of the last frame from each peer
        self.counters = TransportCounters()
        self._last_message: Message | None = None
        self._last_frame = b""
        self._closed = False

    async def start(self) -> None:
        """Listen on the peer address and start dialing every peer. Raises `OSError` if the
        address cannot be bound."""
        loop = self._loop = asyncio.get_running_loop()
        # Silence is counted from the start: a peer not heard from yet is not silent yet.
        self._heard_at = dict.fromkeys(self._links, loop.time())
        self._server = await loop.create_server(
            lambda: _Inbound(self), self._listen.host, self._listen.port, reuse_address=True
        )
        for link in self._links.values():
            link.start()
        log.info("node=%d peer transport listening on %s", self.node_id, self._listen)

    async def close(self) -> None:
        self._closed = True
        if self._server is not None:
            self._server.close()
        for link in self._links.values():
            await link.close()
        for inbound in list(self._inbound):
            inbound.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def send(self, to: NodeId, message: Message) -> None:
        """Queue `message` for peer `to`; it leaves at the end of this event-loop turn."""
        link = self._links.get(to)
        if link is None:
            raise ValueError(f"node {to} is not a peer of node {self.node_id}")
        # A broadcast (Commit, Prepare, Heartbeat) is one object sent to every peer: encode once.
        if message is not self._last_message:
            try:
                payload = self._codec.encode(sender=self.node_id, message=message)
                frame = encode_frame(payload, frame_bytes_max=self._limits.frame_bytes_max)
            except LocalProtocolError as exc:
                log.error("node=%d cannot send %s: %s", self.node_id, type(message).__name__, exc)
                return
            self._last_message, self._last_frame = message, frame
        link.queue(self._last_frame)

    @property
    def connected_peers(self) -> list[NodeId]:
        return sorted(peer for peer, link in self._links.items() if link.connected)

    def unreachable(self, *, expected: Collection[NodeId], silence_s: float) -> list[NodeId]:
        """The peers this node cannot reach now: those whose link is down (the last attempt to
        connect failed, or the connection was lost), and those of `expected` (peers that talk to
        this node all the time, such as a leader's followers) not heard from for `silence_s`."""
        loop = self._loop
        if loop is None:
            return []
        quiet_since = loop.time() - silence_s
        heard_at = self._heard_at
        return sorted(
            peer
            for peer, link in self._links.items()
            if link.down or (peer in expected and heard_at.get(peer, 0.0) < quiet_since)
        )

    # ---- inbound --------------------------------------------------------------------------
    def _on_frame(self, payload: bytes, where: str, now: float) -> None:
        counters = self.counters
        try:
            envelope = self._codec.decode(payload)
        except RemoteProtocolError as exc:
            self._reject(f"{where}: {exc}")
            return
        except Exception as exc:  # a codec bug must not let a peer's bytes crash the node
            self._reject(f"{where}: unexpected {type(exc).__name__} decoding a frame: {exc}")
            return
        sender = envelope.sender
        if sender not in self._members or sender == self.node_id:
            self._reject(f"{where}: frame from node {sender}, not a peer")
            return
        counters.frames_received += 1
        self._heard_at[sender] = now
        link = self._links[sender]
        if link.down:
            link.wake()  # it talks to us, so it listens again: dial it now
        self._deliver(sender, envelope.message)

    def _reject(self, reason: str) -> None:
        self.counters.frames_rejected += 1
        count = self.counters.frames_rejected
        # Log the first few and then every power of two, so garbage cannot flood the log.
        if count <= 10 or count & (count - 1) == 0:
            log.warning("node=%d dropped a peer frame (%d so far): %s", self.node_id, count, reason)


class _Inbound(asyncio.Protocol):
    """One inbound peer connection: bytes in, messages to the runner."""

    def __init__(self, owner: PeerTransport) -> None:
        self._owner = owner
        self._decoder = FrameDecoder(frame_bytes_max=owner._limits.frame_bytes_max)
        self._transport: asyncio.Transport | None = None
        self._where = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        peername = transport.get_extra_info("peername")
        self._where = f"from {peername[0]}:{peername[1]}" if peername else "from ?"
        self._owner._inbound.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self._decoder.feed(data)
        except RemoteProtocolError as exc:
            owner = self._owner
            owner.counters.connections_closed_bad_stream += 1
            owner._reject(f"{self._where}: {exc}; closing the connection")
            self.abort()
            return
        if not frames:
            return
        owner = self._owner
        on_frame = owner._on_frame
        now = owner._loop.time() if owner._loop is not None else 0.0
        for payload in frames:
            on_frame(payload, self._where, now)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._inbound.discard(self)

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()


class _Outbound(asyncio.Protocol):
    def __init__(self, link: _Link) -> None:
        self._link = link
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        pass  # frames flow one way on a dialed connection; a peer has nothing to say here

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


class _Link:
    """The outbound connection to one peer, its pending frames and its dialer task."""

    def __init__(self, owner: PeerTransport, peer: NodeId, address: HostPort) -> None:
        self._owner = owner
        self.peer = peer
        self.address = address
        self._transport: asyncio.Transport | None = None
        self._batcher = WriteBatcher(self._write, closing=self._closing)
        self._task: asyncio.Task[None] | None = None
        # Down: the last attempt to connect failed, or the connection was lost (not while the
        # first attempt is still under way).
        self.down = False
        self._wakeup = asyncio.Event()
        self._wakeable = True  # one wake-up per outage: a one-way network cannot spin the dialer

    @property
    def connected(self) -> bool:
        return self._transport is not None

    def wake(self) -> None:
        """End the current backoff now (the peer was heard from), once per outage."""
        if self._wakeable:
            self._wakeable = False
            self._wakeup.set()

    async def _backoff(self, delay_ms: int) -> None:
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay_ms / 1000):
                await self._wakeup.wait()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._dial_loop(), name=f"pyxos-dial-{self._owner.node_id}-{self.peer}"
        )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._transport is not None:
            self._transport.abort()
            self._transport = None

    def queue(self, frame: bytes) -> None:
        transport = self._transport
        counters = self._owner.counters
        if transport is None:
            counters.frames_dropped_unreachable += 1
            return
        if transport.get_write_buffer_size() > self._owner._limits.peer_buffer_bytes_max:
            counters.frames_dropped_backlog += 1
            return
        self._batcher.add(frame)

    def _closing(self) -> bool:
        transport = self._transport
        return transport is None or transport.is_closing()

    def _write(self, data: bytes, frames: int) -> None:
        transport = self._transport
        if transport is None:
            return
        counters = self._owner.counters
        counters.frames_sent += frames
        counters.writes += 1
        transport.write(data)

    async def _dial_loop(self) -> None:
        owner = self._owner
        limits = owner._limits
        loop = asyncio.get_running_loop()
        backoff_ms = limits.reconnect_ms_min
        failures = 0
        while not owner._closed:
            try:
                # A host that is down may never answer the SYN: give up and back off.
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    transport, protocol = await loop.create_connection(
                        lambda: _Outbound(self), self.address.host, self.address.port
                    )
            except (OSError, TimeoutError) as exc:
                owner.counters.connect_failures += 1
                self.down = True
                failures += 1
                # Say it once when a peer becomes unreachable, then only at DEBUG.
                level = logging.INFO if failures == 1 else logging.DEBUG
                log.log(
                    level,
                    "node=%d cannot reach node %d at %s: %s (retrying, backoff up to %d ms)",
                    owner.node_id,
                    self.peer,
                    self.address,
                    getattr(exc, "strerror", None) or str(exc) or "timed out",
                    limits.reconnect_ms_max,
                )
                await self._backoff(backoff_ms)
                backoff_ms = min(backoff_ms * 2, limits.reconnect_ms_max)
                continue
            owner.counters.connects += 1
            failures = 0
            self._transport = transport
            self.down = False
            self._wakeable = True
            connected_at = loop.time()
            log.info("node=%d connected to node %d at %s", owner.node_id, self.peer, self.address)
            try:
                await protocol.lost
            finally:
                self._transport = None
                self.down = True
                self._batcher.clear()
            if owner._closed:
                return
            log.info("node=%d lost the connection to node %d", owner.node_id, self.peer)
            if loop.time() - connected_at < limits.reconnect_ms_max / 1000:
                # A connection that keeps dropping at once must not become a busy loop.
                await self._backoff(backoff_ms)
                backoff_ms = min(backoff_ms * 2, limits.reconnect_ms_max)
            else:
                backoff_ms = limits.reconnect_ms_min
