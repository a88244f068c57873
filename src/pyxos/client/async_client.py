"""`AsyncClient`: the asyncio client of a pyxos cluster, over the fast client protocol.

Theory of operation.

Connecting. The client keeps one connection, shared by every request and pipelined, to the
leader when it can: `pyxos.client.node_choice` chooses it, learns the members and follows the
leader when it moves; this module asks it for a connection once per attempt.

Sessions. Writes are exactly-once: each runs under a session `(client_id, seq)` of the
client's own, with a random `client_id` of at least `CLIENT_ID_MIN` and `seq` 1, 2, 3, ...;
the cluster remembers the last `seq` it applied for each `client_id` and its result, so the
same command arriving twice is applied once and both copies get the first answer. A session
carries one command at a time (the cluster's session table keeps one result per client), so
the client keeps a pool of sessions: a write takes a free one (or makes a new one, up to
`sessions_max`; past that, writes wait for a free session), so concurrent writes of one
`AsyncClient` run in parallel, each in its own session. Reads need no session.

Retrying. Every request has a deadline (`timeout_s`). An attempt that fails in a way that
leaves the outcome unknown -- the connection is lost, no answer within `attempt_timeout_s`, or
the node answers `timeout` / `no_quorum` -- is retried on another node, with the SAME session
for a write, until the deadline: a write is applied at most once however often it is sent. An
attempt answered `unavailable` (the node is stopping or full: it did nothing) is retried after
a short backoff. `bad_request` and `too_large` are final at once. At the deadline the client
raises `NoQuorum` if the last node that answered could not reach a quorum (naming the nodes it
could not reach), else `Timeout` if any attempt may have reached a node, `Unavailable` if none
did (nothing was done). A message quotes only waits within the caller's deadline.

Two exceptions to waiting. A read ends with `NoQuorum` as soon as every node it can reach has
answered `no_quorum`: it changed nothing, so there is nothing to keep retrying for (a write goes
on, so that its session's exactly-once retries can still land if nodes come back). And a
client that has never connected and finds every address it knows refusing connections raises
`Unavailable` at once (nothing listens there: most likely a wrong address, or a cluster that is
not running).

Once a session's write has ended, successfully or not, the session moves on to the next `seq`;
a late copy of the old command is then refused by the cluster as stale, never applied after a
newer one.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

from pyxos.client.arguments import Value, check_key, check_value, decode_answer
from pyxos.client.connection import ConnectionLost, NodeConnection
from pyxos.client.coordination import Consistency, Coordination
from pyxos.client.endpoints import parse_endpoints, reachable
from pyxos.client.node_choice import STATUS_DECODER, NodeChooser, NoNode
from pyxos.errors import (
    BadRequest,
    CasMismatch,
    NoQuorum,
    PyxosError,
    Timeout,
    Unavailable,
    error_for,
    seconds_text,
)
from pyxos.machines.kv import (
    Cas,
    Delete,
    Get,
    KvOp,
    List,
    Noop,
    Put,
    decode_list,
    encode_op,
)
from pyxos.runtime.config import ClusterConfig, HostPort, load_config
from pyxos.runtime.status import NodeStatus
from pyxos.wire.client import (
    CLIENT_ID_MAX,
    CLIENT_ID_MIN,
    NO_QUORUM,
    TIMEOUT,
    UNAVAILABLE,
    RequestKind,
    Response,
)

DEFAULT_ENDPOINT = "127.0.0.1:9000"
"""Node 1's client port under `pyxos up` with its default ports."""
TIMEOUT_S = 10.0
ATTEMPT_TIMEOUT_S = 5.5
"""A little longer than a node's own request timeout (5 s by default), so that the node's
verdict normally arrives first; only a node that has stopped answering reaches it."""
CONNECT_TIMEOUT_S = 1.0
SESSIONS_MAX = 64
BACKOFF_S_MIN = 0.02
BACKOFF_S_MAX = 0.5
LIST_LIMIT = 1000
__all__ = ["AsyncClient", "Consistency", "Listing"]


@dataclass(frozen=True, slots=True)
class Listing:
    """Keys with a prefix, in key order, with their values; `truncated` if more exist, and
    then `next`, the cursor to pass as `scan(..., after=next)` for the next page (the last key
    listed; None when nothing is left, or when `limit=0` listed nothing)."""

    items: tuple[tuple[str, bytes], ...]
    truncated: bool
    next: str | None = None


class _Session:
    __slots__ = ("client_id", "seq")

    def __init__(self, client_id: int) -> None:
        self.client_id = client_id
        self.seq = 0


class AsyncClient(Coordination):
    """A client of one pyxos cluster, for asyncio code. Safe to use from many tasks at once.

    `endpoints` are client addresses (`"host:port"`, a list or a comma-separated string);
    `config` a cluster file (its path, or a `ClusterConfig` such as `pyxos.local_config(...)`)
    whose members' client addresses are used instead (its cluster id is then checked on
    connect). With neither, `127.0.0.1:9000` (`pyxos up`'s node 1).
    `pinned=True` talks only to the given endpoints, in order, never moving to the leader or to
    members it learns of (to look at one node).
    """

    def __init__(
        self,
        endpoints: str | Sequence[str] | None = None,
        *,
        config: str | Path | ClusterConfig | None = None,
        cluster: str | None = None,
        timeout_s: float = TIMEOUT_S,
        attempt_timeout_s: float = ATTEMPT_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        sessions_max: int = SESSIONS_MAX,
        pinned: bool = False,
    ) -> None:
        if timeout_s <= 0 or attempt_timeout_s <= 0 or connect_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if sessions_max < 1:
            raise ValueError("sessions_max must be at least 1")
        members: dict[int, HostPort] = {}
        addresses: list[HostPort] = []
        cluster_id = cluster or ""
        if config is not None:
            loaded = _cluster_config(config)
            cluster_id = cluster or loaded.cluster
            for spec in loaded.nodes:
                address = reachable(spec.client)
                members[spec.node_id] = address
                addresses.append(address)
        if endpoints is not None or config is None:
            addresses += parse_endpoints(endpoints or DEFAULT_ENDPOINT)
        self.timeout_s = timeout_s
        self.attempt_timeout_s = attempt_timeout_s
        self._nodes = NodeChooser(
            addresses,
            members,
            cluster=cluster_id,
            connect_timeout_s=connect_timeout_s,
            pinned=pinned,
        )
        self._sessions: list[_Session] = []
        self._session_slots = asyncio.Semaphore(sessions_max)
        self._ids = random.SystemRandom()
        self._closed = False

    @property
    def connect_timeout_s(self) -> float:
        """How long one attempt to connect to a node may take."""
        return self._nodes.connect_timeout_s

    @connect_timeout_s.setter
    def connect_timeout_s(self, value: float) -> None:
        self._nodes.connect_timeout_s = value

    # ---- the key-value API ----------------------------------------------------------------
    async def get(
        self, key: str | bytes, consistency: Consistency = "linearizable"
    ) -> bytes | None:
        """The value of `key`, or None if it is absent. `consistency="stale"` answers from the
        connected node's state at once (fast, possibly behind)."""
        if consistency not in ("linearizable", "stale"):
            raise BadRequest(f"consistency must be linearizable or stale, not {consistency!r}")
        op = encode_op(Get(key=check_key(key)))
        answer = await self._call("read", op, linearizable=consistency == "linearizable")
        return decode_answer(answer).value

    async def put(self, key: str | bytes, value: Value) -> bytes | None:
        """Set `key` to `value` (str is encoded UTF-8); the previous value (None: absent)."""
        return decode_answer(
            await self._write(Put(key=check_key(key), value=check_value(value)))
        ).value

    async def delete(self, key: str | bytes) -> bytes | None:
        """Remove `key`; its previous value (None: it was absent, and nothing changed)."""
        return decode_answer(await self._write(Delete(key=check_key(key)))).value

    async def cas(self, key: str | bytes, expected: Value | None, value: Value) -> None:
        """Set `key` to `value` if its value is `expected` (None: if it is absent).

        Raises `CasMismatch` (with `.current`, the value found) and writes nothing otherwise.
        """
        k = check_key(key)
        old = None if expected is None else check_value(expected)
        result = decode_answer(
            await self._write(Cas(key=k, expected=old, value=check_value(value)))
        )
        if not result.ok:
            raise CasMismatch(k, result.value)

    async def nop(self) -> None:
        """A no-op through the log (it helps a lagging node notice what it missed)."""
        decode_answer(await self._write(Noop()))

    async def scan(
        self,
        prefix: str = "",
        *,
        limit: int = LIST_LIMIT,
        after: str | bytes = "",
        consistency: Consistency = "linearizable",
    ) -> Listing:
        """The keys starting with `prefix` and greater than `after` in key order, at most
        `limit`, with their values. To page through every key, pass each answer's `next` as
        `after` until it is None."""
        if limit < 0:
            raise BadRequest(f"limit must not be negative, not {limit}")
        if consistency not in ("linearizable", "stale"):
            raise BadRequest(f"consistency must be linearizable or stale, not {consistency!r}")
        op = encode_op(
            List(
                prefix=check_key(prefix, empty_ok=True),
                limit=limit,
                after=check_key(after, empty_ok=True),
            )
        )
        answer = await self._call("read", op, linearizable=consistency == "linearizable")
        try:
            listing = decode_list(answer)
        except ValueError:
            decode_answer(answer)  # an error answer raises here
            raise PyxosError("the node's answer to a listing does not decode") from None
        return Listing(items=listing.items, truncated=listing.truncated, next=listing.next)

    async def status(self) -> NodeStatus:
        """The status of the node this client is connected to (role, leader, indexes, ...)."""
        return STATUS_DECODER.decode(await self._call("status", b""))

    @property
    def node(self) -> int | None:
        """The id of the node this client is connected to, if it is."""
        return self._nodes.node

    async def aclose(self) -> None:
        self._closed = True
        await self._nodes.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ---- writes and sessions --------------------------------------------------------------
    async def _write(self, op: KvOp) -> bytes:
        return await self._write_bytes(encode_op(op))

    async def _write_bytes(
        self, encoded: bytes, *, kind: RequestKind = "write", wait_ms: int = 0
    ) -> bytes:
        """Run the encoded operation under a session of its own: a `write`, or a lease `wait`
        that the node may hold for up to `wait_ms` more."""
        async with self._session_slots:
            # LIFO: a light load keeps reusing the same few sessions.
            if self._sessions:
                session = self._sessions.pop()
            else:
                session = _Session(self._ids.randint(CLIENT_ID_MIN, CLIENT_ID_MAX))
            session.seq += 1
            try:
                return await self._call(kind, encoded, session=session, wait_ms=wait_ms)
            finally:
                self._sessions.append(session)

    # ---- one request, retried until its deadline ------------------------------------------
    async def _call(
        self,
        kind: RequestKind,
        op: bytes,
        *,
        session: Any = None,
        linearizable: bool = True,
        wait_ms: int = 0,
    ) -> bytes:
        if self._closed:
            raise RuntimeError("the client is closed")
        loop = asyncio.get_running_loop()
        wait_s = wait_ms / 1000  # a lease wait: the node may hold the answer this much longer
        deadline = loop.time() + self.timeout_s + wait_s
        reached = False  # some attempt may have reached a node: the outcome is unknown
        last = "no attempt finished"
        last_code = TIMEOUT
        unreachable: tuple[int, ...] = ()
        without_quorum: set[int] = set()  # nodes that answered no_quorum
        avoid: NodeConnection | None = None
        backoff_s = BACKOFF_S_MIN
        client_id, seq = (session.client_id, session.seq) if session is not None else (0, 0)
        nodes = self._nodes
        nodes.maybe_follow_leader()
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                conn = await nodes.connection(avoid, deadline)
                if session is None and conn.node in without_quorum:
                    # Back at a node that had no quorum: no other node could be reached (it is
                    # tried last). A read changed nothing, so say it now, not at the deadline.
                    break
            except NoNode as exc:
                last = str(exc)
                if exc.refused and not nodes.ever_connected:
                    # Nothing listens at any address this client was given, and nothing ever
                    # did: a wrong address far more often than a cluster restarting. (An HTTP
                    # port given as a client port already says which port to use.)
                    hint = (
                        ""
                        if exc.wrong_port
                        else "; is the cluster running? (an embedded pyxos.Node serves clients "
                        "only with serve_clients=True)"
                    )
                    raise Unavailable(f"no node reachable: {last}{hint}") from None
                backoff_s = await _back_off(backoff_s, deadline)
                continue
            future = conn.request(
                kind, op, client_id=client_id, seq=seq, linearizable=linearizable, wait_ms=wait_ms
            )
            attempt_s = self.attempt_timeout_s + wait_s
            try:
                async with asyncio.timeout(min(attempt_s, remaining)):
                    response: Response = await future
            except TimeoutError:
                reached, avoid = True, conn
                if attempt_s < remaining:  # quote only a wait the caller set
                    last = f"no answer from node {conn.node} within {seconds_text(attempt_s)}"
                    last_code = TIMEOUT
                elif last_code != NO_QUORUM:  # cut by the deadline: a no-quorum verdict stands
                    last = f"no answer from node {conn.node} before the deadline"
                continue
            except ConnectionLost as exc:
                reached = True
                last, last_code, avoid = str(exc), TIMEOUT, conn
                continue
            if response.ok:
                return response.result
            code, message = response.status, response.message
            if code == UNAVAILABLE:
                # The node did nothing (stopping, or its queues are full): try again shortly.
                last = f"node {conn.node}: {message}"
                backoff_s = await _back_off(backoff_s, deadline)
                continue
            if code in (TIMEOUT, NO_QUORUM):
                reached = True
                last, last_code = f"node {conn.node}: {message}", code
                avoid = conn  # it could not get it done: another node may
                if code == NO_QUORUM:
                    without_quorum.add(conn.node)
                    # It fails fast until enough nodes are back: do not hammer it meanwhile.
                    unreachable = _unreachable(response)
                    backoff_s = await _back_off(backoff_s, deadline)
                continue
            raise error_for(code, message)
        waited = seconds_text(self.timeout_s + wait_s)
        if not reached:
            raise Unavailable(f"no node reachable within {waited} ({last})")
        # A read changed nothing whatever happened; a write may have been applied.
        outcome = "" if session is None else "; the outcome is unknown: the write may be applied"
        if last_code == NO_QUORUM:
            raise NoQuorum(f"{last}{outcome}", unreachable=unreachable)
        raise Timeout(f"no answer within {waited} ({last}){outcome}")


async def _back_off(backoff_s: float, deadline: float) -> float:
    """Sleep `backoff_s` (not past `deadline`); the next, doubled backoff."""
    await asyncio.sleep(min(backoff_s, max(0.0, deadline - asyncio.get_running_loop().time())))
    return min(backoff_s * 2, BACKOFF_S_MAX)


def _cluster_config(config: object) -> ClusterConfig:
    if isinstance(config, ClusterConfig):
        return config
    if isinstance(config, str | Path):
        return load_config(config)
    raise TypeError(
        "config is a cluster file's path or a ClusterConfig (pyxos.local_config(...), "
        f"pyxos.embed.load_config(path)), not {type(config).__name__}"
    )


_IDS = msgspec.msgpack.Decoder(list[int])


def _unreachable(response: Response) -> tuple[int, ...]:
    """The nodes a `no_quorum` answer names as unreachable (none from an older node)."""
    try:
        return tuple(_IDS.decode(response.result)) if response.result else ()
    except msgspec.DecodeError:  # ValidationError included
        return ()
