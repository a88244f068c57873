"""Which node a client talks to: connecting, learning the members, moving to the leader.

Theory of operation. The client knows some client addresses (given, or every member's from a
cluster file). It connects to the first that answers, learns the node's id and the client
addresses of the other members from its `Welcome`, asks it for its status and, when another
node is the leader, moves to the leader (writes then skip a forward). It keeps that one
connection, shared by every request of the client and pipelined, until something goes wrong.
While it is not on the leader (none was elected yet, or leadership moved) it asks again at
most once a second, in the background, and moves when it finds one; the old connection closes
once its answers are in. A `pinned` client talks only to the addresses it was given, in order.

Why a module of its own. `AsyncClient` decides what to send and when to retry; this decides
where to, and changes for other reasons (membership, leader hints, address quirks). The
request loop asks it for a connection once per attempt, as it did before the split.
"""

from __future__ import annotations

import asyncio
import os

from pyxos.client.connection import ConnectionLost, NodeConnection, NotAClientPort
from pyxos.client.endpoints import WILDCARDS
from pyxos.errors import ProtocolError, seconds_text
from pyxos.runtime.config import HostPort, parse_host_port
from pyxos.runtime.status import MSGPACK_DECODER

LEADER_RECHECK_S = 1.0
"""A client not connected to the leader asks again at most this often (in the background)."""

STATUS_DECODER = MSGPACK_DECODER
"""Decodes a node's answer to a `status` request (a `NodeStatus`)."""


class NoNode(Exception):  # noqa: N818
    """No node could be connected to in one pass over the candidates; `refused` if each of
    them refused the connection (nothing listens there), `wrong_port` if one of them turned
    out to be a node's HTTP port (the message names the port to use)."""

    def __init__(self, message: str, *, refused: bool, wrong_port: bool = False) -> None:
        super().__init__(message)
        self.refused = refused
        self.wrong_port = wrong_port


class NodeChooser:
    """The connection of one client: to the leader when it can, to whoever answers else.

    `endpoints` are tried in order after the leader; `members` (node id to client address)
    are those known so far, and grow with what each node's `Welcome` tells.
    """

    def __init__(
        self,
        endpoints: list[HostPort],
        members: dict[int, HostPort],
        *,
        cluster: str,
        connect_timeout_s: float,
        pinned: bool,
    ) -> None:
        self._endpoints = endpoints
        self._members = members
        self._cluster = cluster
        self.connect_timeout_s = connect_timeout_s
        self._pinned = pinned
        self._conn: NodeConnection | None = None
        self._connecting = asyncio.Lock()
        self._leader_hint: int | None = None
        self._on_leader = False
        self._leader_checked = 0.0
        self._follow: asyncio.Task[None] | None = None
        self.ever_connected = False

    @property
    def node(self) -> int | None:
        """The id of the node connected to, if any."""
        conn = self._conn
        return None if conn is None or conn.closed else conn.node

    async def aclose(self) -> None:
        if self._follow is not None:
            self._follow.cancel()
            await asyncio.gather(self._follow, return_exceptions=True)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def connection(self, avoid: NodeConnection | None, deadline: float) -> NodeConnection:
        """The current connection, or a new one if it is `avoid` (or gone). Raises `NoNode`."""
        conn = self._conn
        if conn is not None and not conn.closed and conn is not avoid:
            return conn
        async with self._connecting:
            conn = self._conn  # another request may have reconnected meanwhile
            if conn is not None and not conn.closed and conn is not avoid:
                return conn
            exclude = None
            if conn is not None:
                exclude = conn.node
                conn.close()
                self._conn = None
                if exclude == self._leader_hint:
                    self._leader_hint = None
            self._conn = await self._connect(exclude, deadline)
            return self._conn

    async def _connect(self, exclude: int | None, deadline: float) -> NodeConnection:
        loop = asyncio.get_running_loop()
        errors: list[str] = []
        refused = True
        wrong_ports = False
        for address in self._candidates(exclude):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                conn = await self._open(address, min(self.connect_timeout_s, remaining), errors)
            except (ConnectionRefusedError, NotAClientPort) as exc:
                # No node can be reached there, now or later: an address to correct.
                wrong_port = isinstance(exc, NotAClientPort)  # it names the address itself
                wrong_ports = wrong_ports or wrong_port
                errors.append(str(exc) if wrong_port else f"{address}: {_describe(exc)}")
                continue
            refused = False
            if conn is None:
                continue
            self.ever_connected = True
            if not self._pinned:
                self._learn(conn)
                conn = await self._move_to_leader(conn, deadline)
            return conn
        raise NoNode(
            "; ".join(errors) or "no node to try",
            refused=refused and bool(errors),
            wrong_port=wrong_ports,
        )

    async def _open(
        self, address: HostPort, timeout_s: float, errors: list[str]
    ) -> NodeConnection | None:
        """A connection, or None with the reason in `errors`; `ConnectionRefusedError` and
        `NotAClientPort` are raised for the caller to tell them apart."""
        try:
            return await NodeConnection.open(address, cluster=self._cluster, timeout_s=timeout_s)
        except (ConnectionRefusedError, NotAClientPort):
            raise
        except TimeoutError:
            # Whole milliseconds, rounded down: never more than the wait the caller allowed.
            waited = seconds_text(int(timeout_s * 1000) / 1000)
            errors.append(f"{address}: no answer within {waited}")
        except (OSError, ConnectionLost, ProtocolError) as exc:
            errors.append(f"{address}: {_describe(exc)}")
        return None

    def _candidates(self, exclude: int | None) -> list[HostPort]:
        """Addresses to try, in order: the leader, the given endpoints, the members learned;
        the node just left last (it may be the only one left)."""
        members = self._members
        ordered: list[HostPort] = []
        if self._leader_hint is not None and self._leader_hint in members:
            ordered.append(members[self._leader_hint])
        ordered += self._endpoints
        if not self._pinned:
            ordered += [members[k] for k in sorted(members)]
        last = members.get(exclude) if exclude is not None else None
        unique = list(dict.fromkeys(a for a in ordered if a != last))
        return [*unique, last] if last is not None else unique

    def _learn(self, conn: NodeConnection) -> None:
        assert conn.welcome is not None
        self._members[conn.node] = conn.address  # where we reached it: known to work
        for node, text in conn.welcome.members.items():
            if node in self._members:
                continue
            try:
                address = parse_host_port(text)
            except ValueError:
                continue
            # A wildcard address names no host this client could reach the member on.
            if address.host not in WILDCARDS:
                self._members[node] = address

    async def _move_to_leader(self, conn: NodeConnection, deadline: float) -> NodeConnection:
        """The connection to use from now on: a new one to the leader if `conn`'s node knows
        another node leads, else `conn`. A connection left is closed once it is idle."""
        loop = asyncio.get_running_loop()
        self._leader_checked = loop.time()
        try:
            async with asyncio.timeout(min(self.connect_timeout_s, deadline - loop.time())):
                status = STATUS_DECODER.decode((await conn.request("status")).result)
        except (TimeoutError, ConnectionLost, ValueError):
            return conn
        leader = status.leader
        self._leader_hint = leader
        self._on_leader = leader == conn.node
        if leader is None or leader == conn.node or leader not in self._members:
            return conn
        errors: list[str] = []
        timeout_s = min(self.connect_timeout_s, deadline - loop.time())
        try:
            moved = await self._open(self._members[leader], timeout_s, errors)
        except (ConnectionRefusedError, NotAClientPort):
            moved = None
        if moved is None:
            return conn
        conn.close_when_idle()  # its requests in flight still get their answers
        self._learn(moved)
        self._on_leader = moved.node == leader
        return moved

    def maybe_follow_leader(self) -> None:
        """Not on the leader (there was none yet, or it moved): look again now and then, in
        the background; requests go on meanwhile where they are."""
        if self._on_leader or self._pinned or self._conn is None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() - self._leader_checked < LEADER_RECHECK_S:
            return
        if self._follow is not None and not self._follow.done():
            return
        self._leader_checked = loop.time()
        self._follow = loop.create_task(self._follow_leader())

    async def _follow_leader(self) -> None:
        async with self._connecting:
            conn = self._conn
            if conn is None or conn.closed:
                return
            deadline = asyncio.get_running_loop().time() + 2 * self.connect_timeout_s
            self._conn = await self._move_to_leader(conn, deadline)


def _describe(exc: BaseException) -> str:
    # asyncio and uvloop word a refused connection differently; the errno's text is the same.
    errno = getattr(exc, "errno", None)
    return os.strerror(errno) if isinstance(exc, OSError) and errno else str(exc)
