"""The cluster as one node sees it: every member's status, health and quorum, for operators.

Theory of operation. A node knows every member's HTTP address from the cluster file. When the
status page (or `GET /v1/cluster/status`) asks, it takes its own status directly and asks every
other member's `GET /status` at once, each with a short deadline (`FETCH_TIMEOUT_S`), so one
dead or hung member never holds up the view of the others. A member that answers is `up`; one
that does not is `down`, shown with the last status it gave, the time since its last answer
and the reason. Concurrent askers share one round of requests, and a view younger than
`FRESH_S` is handed out again, so a hundred open pages cost the cluster what one does.

Quorum. A member *has quorum* when it is up and it, with the peers it is connected to that are
up, forms both a phase-1 and a phase-2 quorum of the cluster's quorum system: it can take part
in electing a leader and in deciding commands. The cluster has quorum when a leader is
established and the leader has quorum; without it writes and linearizable reads fail
(`no_quorum`) until enough members come back.

Lag is how many slots a member's applied index is behind the leader's decided index.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import aiohttp
import msgspec

from pyxos.client.endpoints import reachable
from pyxos.core.protocol import ExecutionOrder
from pyxos.core.protocols import UnknownProtocol, protocol_spec
from pyxos.core.quorum import QuorumSystem
from pyxos.runtime.config import parse_host_port
from pyxos.runtime.status import JSON_DECODER, UNSET, NodeStatus, RequestRates

FETCH_TIMEOUT_S = 1.0
FRESH_S = 0.5

Health = Literal["up", "down"]


class MemberView(msgspec.Struct, frozen=True, kw_only=True):
    node: int
    name: str
    http: str
    health: Health
    error: str | None = None
    """Why it is down (connection refused, a timeout, an error status)."""
    last_contact_s: float | None = None
    """Seconds since the serving node last had an answer from it; None: not since it started."""
    has_quorum: bool = False
    lag: int | None = None
    """Slots its applied index is behind the leader's decided index; None without a leader."""
    status: NodeStatus | None = None
    """Its status when it last answered (stale when it is down); None if it never did."""


class ClusterView(msgspec.Struct, frozen=True, kw_only=True):
    cluster: str
    served_by: int
    """The node that assembled this view."""
    leader: int | None
    """The leader the members that are up agree on (the one with the highest view)."""
    quorum: bool
    """A leader is established and it has quorum: writes and linearizable reads can succeed."""
    up: int
    members: list[MemberView]
    requests: RequestRates
    """Every member's requests added up; p50 and p99 are the worst member's."""
    summary: str
    """One line for people: `quorum: leader 1, 3 of 3 members up`, or what is missing."""


@dataclass(frozen=True, slots=True)
class Peer:
    """A member this node asks over HTTP."""

    node: int
    name: str
    http: str


class ClusterWatcher:
    """Builds `ClusterView`s for one node; `await view()` from the node's event loop."""

    def __init__(
        self,
        *,
        node: int,
        status: Callable[[], NodeStatus],
        quorums: QuorumSystem,
        fetch_timeout_s: float = FETCH_TIMEOUT_S,
    ) -> None:
        self._node = node
        self._status = status
        self._quorums = quorums
        self._fetch_timeout_s = fetch_timeout_s
        self._last: dict[int, NodeStatus] = {}
        self._last_contact: dict[int, float] = {}
        self._round: asyncio.Task[ClusterView] | None = None
        self._round_at = 0.0
        self._session: aiohttp.ClientSession | None = None

    async def view(self) -> ClusterView:
        """The cluster now, or as seen less than `FRESH_S` ago."""
        now = time.monotonic()
        round_ = self._round
        if round_ is None or (round_.done() and now - self._round_at >= FRESH_S):
            self._round_at = now
            round_ = self._round = asyncio.get_running_loop().create_task(self._assemble())
        return await asyncio.shield(round_)

    async def close(self) -> None:
        if self._round is not None and not self._round.done():
            self._round.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _assemble(self) -> ClusterView:
        own = self._status()
        peers = _peers(own)
        answers = await asyncio.gather(*(self._fetch(peer) for peer in peers))
        now = time.monotonic()
        self._last[own.node] = own
        self._last_contact[own.node] = now
        current: dict[int, NodeStatus] = {own.node: own}
        errors: dict[int, str] = {}
        for peer, answer in zip(peers, answers, strict=True):
            if isinstance(answer, NodeStatus):
                current[peer.node] = self._last[peer.node] = answer
                self._last_contact[peer.node] = now
            else:
                errors[peer.node] = answer
        return build_view(
            own=own,
            peers=peers,
            current=current,
            last=self._last,
            errors=errors,
            last_contact_s={n: now - at for n, at in self._last_contact.items()},
            quorums=self._quorums,
        )

    async def _fetch(self, peer: Peer) -> NodeStatus | str:
        """The peer's status, or why there is none."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._fetch_timeout_s)
            )
        try:
            async with self._session.get(f"http://{peer.http}/status") as response:
                body = await response.read()
                if response.status != 200:
                    return f"/status answered {response.status}"
            return JSON_DECODER.decode(body)
        except TimeoutError:
            return f"no answer within {self._fetch_timeout_s:g} s"
        except aiohttp.ClientConnectorError as exc:
            error = exc.os_error  # "Connection refused", not "Connect call failed (...)"
            return os.strerror(error.errno) if error.errno else str(error)
        except (aiohttp.ClientError, OSError) as exc:
            return str(exc) or type(exc).__name__
        except msgspec.DecodeError as exc:
            return f"an unreadable /status: {exc}"


def _peers(own: NodeStatus) -> list[Peer]:
    """The other members, as this node's status names them, at addresses it can dial."""
    if own.members is UNSET:
        return []
    peers = []
    for node, member in own.members.items():
        if int(node) == own.node:
            continue
        address = reachable(parse_host_port(member.http))
        peers.append(Peer(node=int(node), name=member.name or node, http=str(address)))
    return sorted(peers, key=lambda p: p.node)


def build_view(
    *,
    own: NodeStatus,
    peers: Sequence[Peer],
    current: dict[int, NodeStatus],
    last: dict[int, NodeStatus],
    errors: dict[int, str],
    last_contact_s: dict[int, float],
    quorums: QuorumSystem,
) -> ClusterView:
    """The view from the statuses of the members that answered (`current`), the last ones of
    those that did not (`last`), and why they did not (`errors`). Pure: tested without a
    cluster."""
    # A protocol with a log per object (WPaxos) has an owner per object, no one leader: the
    # cluster has quorum when the members that are up form quorums, and lag has no meaning.
    many_owners = _many_owners(own)
    leaders = sorted(
        ((s.view, s.node) for s in current.values() if s.role == "leader"), reverse=True
    )
    leader = leaders[0][1] if leaders and not many_owners else None
    leader_status = current.get(leader) if leader is not None else None
    up = set(current)

    def has_quorum(node: int) -> bool:
        status = current.get(node)
        if status is None:
            return False
        connected = [] if status.peers_connected is UNSET else status.peers_connected
        reach = {node, *(p for p in connected if p in up)}
        return quorums.is_q1(reach) and quorums.is_q2(reach)

    own_http = "" if own.http is UNSET else own.http
    everyone = [Peer(node=own.node, name=own.label, http=own_http), *peers]
    members = []
    for member in sorted(everyone, key=lambda m: m.node):
        status = current.get(member.node, last.get(member.node))
        lag = None
        if leader_status is not None and status is not None and member.node in up:
            lag = max(0, leader_status.decided_index - status.applied_index)
        members.append(
            MemberView(
                node=member.node,
                name=member.name,
                http=member.http,
                health="up" if member.node in up else "down",
                error=errors.get(member.node),
                last_contact_s=(
                    round(last_contact_s[member.node], 1) if member.node in last_contact_s else None
                ),
                has_quorum=has_quorum(member.node),
                lag=lag,
                status=status,
            )
        )
    if many_owners:
        quorum = any(has_quorum(node) for node in sorted(up))
        summary = _owners_summary(members, current, quorum)
    else:
        quorum = leader is not None and has_quorum(leader)
        summary = _summary(members, leader, quorum, own)
    return ClusterView(
        cluster="" if own.cluster is UNSET else own.cluster,
        served_by=own.node,
        leader=leader,
        quorum=quorum,
        up=len(up),
        members=members,
        requests=_total([current[n].requests for n in sorted(up)]),
        summary=summary,
    )


def _total(rates: Sequence[RequestRates]) -> RequestRates:
    if not rates:
        return RequestRates()
    return RequestRates(
        window_s=max(r.window_s for r in rates),
        per_s=round(sum(r.per_s for r in rates), 1),
        errors_per_s=round(sum(r.errors_per_s for r in rates), 1),
        p50_ms=max(r.p50_ms for r in rates),
        p99_ms=max(r.p99_ms for r in rates),
        max_ms=max(r.max_ms for r in rates),
    )


def _many_owners(own: NodeStatus) -> bool:
    try:
        return protocol_spec(own.protocol).order is ExecutionOrder.PER_OBJECT
    except UnknownProtocol:
        return False


def _owners_summary(members: list[MemberView], current: dict[int, NodeStatus], quorum: bool) -> str:
    up = sum(m.health == "up" for m in members)
    counted = f"{up} of {len(members)} members up"
    down = [m.name for m in members if m.health == "down"]
    missing = f" ({', '.join(down)} down)" if down else ""
    owners = sum(1 for s in current.values() if s.protocol_counters.get("objects_owned", 0))
    if quorum:
        return f"quorum: {owners} members own objects, {counted}{missing}"
    return f"NO QUORUM: the members up do not form quorums, {counted}{missing}"


def _summary(members: list[MemberView], leader: int | None, quorum: bool, own: NodeStatus) -> str:
    up = sum(m.health == "up" for m in members)
    counted = f"{up} of {len(members)} members up"
    down = [m.name for m in members if m.health == "down"]
    missing = f" ({', '.join(down)} down)" if down else ""
    if quorum:
        assert leader is not None
        return f"quorum: leader {own.name_of(leader)}, {counted}{missing}"
    if leader is None and any(m.has_quorum for m in members):
        return f"no leader yet (an election is under way), {counted}{missing}"
    if leader is None:
        return f"NO QUORUM: no leader, {counted}{missing}"
    return f"NO QUORUM: leader {own.name_of(leader)} cannot reach a quorum, {counted}{missing}"
