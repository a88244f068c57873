"""How a `NodeRunner` runs its clients' requests: sessions, answers, retries and deadlines.

Theory of operation. A write takes a client id from the node's pool (`node_id << 32 | slot`,
reused when free, so the replicated session table stays bounded) and the next seq of that id;
seqs start at `seq_base` (from a boot counter), so an id reused after a restart never goes
back. A client that keeps its own session passes it instead. The request waits on a future,
keyed by its session (a write) or its read id (a read), that the stepper completes when the
node's `Reply` leaves the effect gate. The request is handed to the node again with the SAME
(client id, seq) after `request_retry_ms`, then after twice as long each time (up to 4x),
until it is answered or `request_timeout_ms` passes: a forward to a leader that died is lost,
and the session table makes the retries exactly-once.

No quorum. At each retry the node asks whether it can still reach a quorum (`reachability`:
the peer transport's links and what it heard lately). If it cannot, the request fails at once
with `NoQuorum`, naming the unreachable nodes, instead of waiting out its deadline: with a
majority down a read or write is answered within `request_retry_ms`, and the caller learns why.
The first attempt is never refused this way, so a request that a just-started node could
serve within a moment is not failed by links that are still connecting. At the deadline, a
node that knows of no established leader answers `NoQuorum` too, else `Timeout`.

Why a module of its own. The runner's concern is the stepper: its inbox, the effects in order
and group commit. This is the other side of the inbox, where callers (the HTTP API, the client
server, lease waits) wait for their answers, and it changes for other reasons (sessions, retry
policy, fault injection refusing clients). It is a mixin of `NodeRunner`, not an object the
runner holds, so that `write` and `read` stay methods of the runner (callers and
`pyxos.chaos.planted_bug` use them as such) and no call layer is added per command; the
stepper completes the futures by reading `_writes` and `_reads` directly, as before.

The identities and outcomes themselves (`ClientPool`, `CLIENT_ID_MIN`, and the errors of
`pyxos.errors`) live in `pyxos.runtime.requests`, which light modules import without this.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pyxos.errors import RequestId, seconds_text, unreachable_text
from pyxos.node.client_messages import ClientRead, ClientReply, ClientRequest
from pyxos.runtime.meter import RequestMeter
from pyxos.runtime.requests import CLIENT_ID_MIN, ClientPool, NoQuorum, Timeout, Unavailable

if TYPE_CHECKING:
    from pyxos.core.ids import NodeId
    from pyxos.node.node import Node
    from pyxos.runtime.config import Limits
    from pyxos.runtime.faults import FaultTable
    from pyxos.runtime.protocol_support import ProtocolSupport

_Answer = TypeVar("_Answer", ClientReply, bytes)


@dataclass(slots=True)
class RunnerCounters:
    """What a node runner counts (here, beside the client requests that count most of it)."""

    steps: int = 0
    peer_messages_dropped: int = 0
    client_requests_refused: int = 0
    client_retries: int = 0
    client_timeouts: int = 0


class PeerContacts(Protocol):
    """What the runner learns reachability from: the peer transport."""

    def unreachable(self, *, expected: Collection[NodeId], silence_s: float) -> list[NodeId]: ...


@dataclass(frozen=True, slots=True)
class Reachability:
    """The peers this node cannot reach now, and whether the rest (with it) form a quorum."""

    unreachable: tuple[NodeId, ...]
    quorum: bool


class ClientRequests:
    """The client side of `NodeRunner`: `write` and `read`, each waiting for its answer."""

    # Provided by `NodeRunner`, which owns the node, the inbox and the counters.
    node: Node
    node_id: NodeId
    faults: FaultTable
    counters: RunnerCounters
    support: ProtocolSupport  # what the protocol lets the services run (`protocol_support`)
    _limits: Limits
    _running: bool

    if TYPE_CHECKING:

        def _submit(self, sender: int, message: ClientRequest | ClientRead) -> bool:
            """Put the request into the bounded inbox; False if it was refused."""
            raise NotImplementedError

        @property
        def leader_known(self) -> bool:
            raise NotImplementedError

    def __init__(self, node_id: NodeId, clients_max: int, seq_base: int) -> None:
        self._writes: dict[tuple[int, int], asyncio.Future[ClientReply]] = {}
        self._reads: dict[int, asyncio.Future[bytes]] = {}
        self._next_read = 0
        self._read_client = node_id << 32  # slot 0: the node's reads (no session)
        self._pool = ClientPool(node_id, clients_max, seq_base)
        self.meter = RequestMeter()  # answered requests per second and their latency
        self._contacts: PeerContacts | None = None

    def watch_peers(self, contacts: PeerContacts) -> None:
        """Learn which peers are unreachable from `contacts` (the peer transport). Without it,
        every peer counts as reachable and requests wait out their deadline."""
        self._contacts = contacts

    def reachability(self) -> Reachability:
        """Which peers this node cannot reach now, and whether a phase-2 quorum (what every
        read and write needs) is left among the others and itself."""
        contacts = self._contacts
        if contacts is None:
            return Reachability(unreachable=(), quorum=True)
        config = self.node.config
        status = self.node.status()
        expected: tuple[NodeId, ...] = ()
        if status.leader == config.node_id:
            expected = config.peers  # each acknowledges the leader's heartbeats
        elif status.leader is not None:
            expected = (status.leader,)  # an established leader heartbeats to us
        # A peer that should talk to us all the time counts as unreachable once silent for the
        # longest election timeout: long enough that a busy machine's pauses do not count.
        silence_s = config.election_timeout_ticks_max * config.tick_ms / 1000
        unreachable = tuple(contacts.unreachable(expected=expected, silence_s=silence_s))
        reachable = [m for m in config.members if m not in unreachable]
        return Reachability(unreachable=unreachable, quorum=config.quorums.is_q2(reachable))

    def _abandon_requests(self, error: Exception) -> None:
        """Fail every request still waiting (the node is stopping)."""
        waiting: list[asyncio.Future[Any]] = [*self._writes.values(), *self._reads.values()]
        for future in waiting:
            if not future.done():
                future.set_exception(error)

    def _refuse_if_crashed(self) -> None:
        faults = self.faults
        if faults.active and faults.refuses_clients(asyncio.get_running_loop().time()):
            raise Unavailable("the node is crashed (fault injection)")

    async def write(self, op: bytes, *, session: tuple[int, int] | None = None) -> bytes:
        """Run the command `op` exactly once through the log; its result.

        Without `session` the node picks a `(client_id, seq)` from its pool. A client that keeps
        its own session (the Python client, Paxi's `Id`/`Cid` headers) passes it, with a
        `client_id` of at least `CLIENT_ID_MIN` and one command at a time per client id; a
        retry with the same session is applied once and answered from the session table.

        Raises `Unavailable` (not started: nothing was submitted), `Timeout` (outcome unknown;
        `NoQuorum` when the node cannot reach a quorum or knows no leader), `ValueError` (a
        client id in the node's own range) or `UnsupportedByProtocol` (a command the cluster's
        protocol cannot order, see `protocol_support`; nothing was submitted). The
        `request_id` of a `Timeout` is the session.
        """
        return (await self._write_reply(op, session)).result

    async def write_at(
        self, op: bytes, *, session: tuple[int, int] | None = None
    ) -> tuple[bytes, int]:
        """Like `write`: the result, and the slot whose batch held the command. The slot is 0
        when the command had been applied before and the answer came from the session table
        (a retry of an answered session), which does not keep slots. Raises like `write`."""
        reply = await self._write_reply(op, session)
        return reply.result, reply.slot

    async def _write_reply(self, op: bytes, session: tuple[int, int] | None) -> ClientReply:
        if not self._running:
            raise Unavailable("the node is not running")
        self._refuse_if_crashed()
        self.support.check_write(op)
        if session is not None:
            if session[0] < CLIENT_ID_MIN or session[1] < 1:
                raise ValueError(
                    f"a client's own session needs client_id >= {CLIENT_ID_MIN} and seq >= 1"
                )
            pending = self._writes.get(session)
            if pending is not None:  # the same command again while it is in flight
                return await asyncio.shield(pending)
            client_id, seq = session
        else:
            client_id, seq = self._pool.acquire()
        request = ClientRequest(client_id=client_id, seq=seq, op=op)
        future: asyncio.Future[ClientReply] = asyncio.get_running_loop().create_future()
        key = (client_id, seq)
        self._writes[key] = future
        try:
            return await self._await_answer(future, client_id, request)
        finally:
            del self._writes[key]
            if session is None:
                self._pool.release(client_id)

    async def read(self, query: bytes, *, linearizable: bool = True) -> bytes:
        """Answer the read-only `query`: after a read index confirmed by a quorum if
        `linearizable`, else from local state at once. Raises like `write`."""
        if not self._running:
            raise Unavailable("the node is not running")
        self._refuse_if_crashed()
        self.support.check_read(query, linearizable=linearizable)
        self._next_read += 1
        read_id = self._next_read
        request = ClientRead(
            client_id=self._read_client, read_id=read_id, query=query, linearizable=linearizable
        )
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._reads[read_id] = future
        try:
            return await self._await_answer(future, self._read_client, request)
        finally:
            del self._reads[read_id]

    async def _await_answer(
        self,
        future: asyncio.Future[_Answer],
        sender: int,
        request: ClientRequest | ClientRead,
    ) -> _Answer:
        loop = asyncio.get_running_loop()
        started_s = time.perf_counter()  # not loop.time(): uvloop's has millisecond steps
        limits = self._limits
        deadline = loop.time() + limits.request_timeout_ms / 1000
        retry_max_s = 4 * limits.request_retry_ms / 1000
        handle: asyncio.TimerHandle | None = None
        session = (
            RequestId(request.client_id, request.seq) if type(request) is ClientRequest else None
        )

        def attempt(first: bool, retry_s: float) -> None:
            nonlocal handle
            if future.done():
                return
            now = loop.time()
            if now >= deadline:
                self.counters.client_timeouts += 1
                future.set_exception(
                    self.deadline_error(session, waited_ms=limits.request_timeout_ms)
                )
                return
            if not first:
                reach = self.reachability()
                if not reach.quorum:
                    self.counters.client_timeouts += 1
                    future.set_exception(
                        NoQuorum(
                            f"no quorum: {unreachable_text(reach.unreachable)}",
                            unreachable=reach.unreachable,
                            request_id=session,
                        )
                    )
                    return
                self.counters.client_retries += 1
            if not self._submit(sender, request) and first:
                # Refused before anything was submitted: fail fast, the outcome is known.
                self.counters.client_requests_refused += 1
                future.set_exception(Unavailable("the node's inbox is full"))
                return
            # The interval doubles (up to 4x): an overloaded cluster must not be buried under
            # retries, and a failover must still be noticed soon.
            handle = loop.call_at(
                min(deadline, now + retry_s), attempt, False, min(retry_s * 2, retry_max_s)
            )

        attempt(True, limits.request_retry_ms / 1000)
        try:
            return await future
        finally:
            if handle is not None:
                handle.cancel()
            if future.done() and not future.cancelled():  # not a caller that gave up
                now_s = time.perf_counter()
                self.meter.record(now_s, now_s - started_s, ok=future.exception() is None)

    def deadline_error(self, session: RequestId | None, *, waited_ms: int) -> Timeout:
        """The error of a request unanswered after `waited_ms`: `NoQuorum` if this node cannot
        reach a quorum or knows of no established leader (naming what it cannot reach), else
        `Timeout`; `session` is the write's (None for a read)."""
        waited = seconds_text(waited_ms / 1000)
        reach = self.reachability()
        if reach.quorum and self.leader_known:
            return Timeout(f"no answer within {waited}", request_id=session)
        causes = [unreachable_text(reach.unreachable)] if reach.unreachable else []
        if not self.leader_known:
            causes.append(f"no leader was established within {waited}")
        return NoQuorum(
            f"no quorum: {', and '.join(causes)}",
            unreachable=reach.unreachable,
            request_id=session,
        )
