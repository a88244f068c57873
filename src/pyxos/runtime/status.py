"""`NodeStatus`: what a node says about itself, typed.

The runner fills in what it knows (role, leader, view, ballot, indexes, lag, queues, counters,
the requests it served lately); the process that serves the node adds where it serves and who
its members are (`with_service`). The HTTP API (`GET /status`), the fast client protocol's
`status` request, the embedded `pyxos.Node.status()` and the clients all carry this one type:
msgspec encodes it as the JSON object `/status` has always answered (a field its producer did
not fill in is `UNSET` and left out, not sent as null), and a client decodes it back, ignoring
fields a newer node adds and defaulting the ones an older node did not send.
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "UNSET",
    "MemberAddress",
    "NodeStatus",
    "RequestRates",
    "Role",
    "StatusCounters",
    "UnsetType",
    "stopped",
]

Role = Literal["leader", "candidate", "follower", "stopped"]


class StatusCounters(msgspec.Struct, frozen=True, kw_only=True):
    """The runner's counters since the process started."""

    steps: int = 0
    syncs: int = 0
    records_synced: int = 0
    peer_messages_dropped: int = 0
    client_requests_refused: int = 0
    client_retries: int = 0
    client_timeouts: int = 0
    snapshots_saved: int = 0


class RequestRates(msgspec.Struct, frozen=True, kw_only=True):
    """The client requests this node answered over the last `window_s` whole seconds (HTTP,
    the fast protocol and an embedding program alike): how many per second, how many of them
    failed, and their latency from arrival to answer."""

    window_s: float = 0.0
    per_s: float = 0.0
    errors_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0


class MemberAddress(msgspec.Struct, frozen=True, kw_only=True):
    """Where a member serves, and its id as the cluster file writes it (`"1.2"` if zoned)."""

    http: str
    client: str
    name: str = ""


class NodeStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One node's status. The runner fills in the first group of fields; the process serving
    the node (or the embedding `pyxos.Node`) adds the second, which stay `UNSET` (and out of
    the JSON) where nobody did."""

    node: int
    role: Role
    leader: int | None
    view: int
    ballot: str
    decided_index: int
    applied_index: int
    lag: dict[str, int]
    """On the leader: slots each peer (by id, as a string) is behind; elsewhere empty."""
    durable_records: int
    unsynced_records: int
    inbox: int
    clients_in_use: int
    counters: StatusCounters
    requests: RequestRates = msgspec.field(default_factory=RequestRates)
    protocol: str = "multipaxos"
    """The consensus protocol the node runs (`docs/protocols.md`)."""
    protocol_counters: dict[str, int] = msgspec.field(default_factory=dict)
    """The protocol's own counters; WPaxos: `objects` (logs this node holds), `objects_owned`
    (those it leads: with many owners there is no one leader), steals, forwards, handovers."""

    name: str | UnsetType = UNSET
    cluster: str | UnsetType = UNSET
    http: str | UnsetType = UNSET
    client: str | UnsetType = UNSET
    members: dict[str, MemberAddress] | UnsetType = UNSET
    peers_connected: list[int] | UnsetType = UNSET
    unreachable: list[int] | UnsetType = UNSET
    """Peers this node cannot reach now (connection down, or silent when they should talk)."""
    quorum: bool | UnsetType = UNSET
    """Whether a phase-2 quorum is left among this node and the peers it can reach."""
    transport: dict[str, int] | UnsetType = UNSET
    client_server: dict[str, int] | UnsetType = UNSET

    @property
    def label(self) -> str:
        """The node as people name it: its written id (`"1.2"`), else the integer."""
        return self.name if self.name is not UNSET and self.name else str(self.node)

    def name_of(self, node: int) -> str:
        """Member `node` as the cluster file writes it, when this status names the members."""
        member = None if self.members is UNSET else self.members.get(str(node))
        return member.name if member is not None and member.name else str(node)


def stopped(node: int) -> NodeStatus:
    """The status of a node that is not running."""
    return NodeStatus(
        node=node,
        role="stopped",
        leader=None,
        view=0,
        ballot="",
        decided_index=0,
        applied_index=0,
        lag={},
        durable_records=0,
        unsynced_records=0,
        inbox=0,
        clients_in_use=0,
        counters=StatusCounters(),
    )


MSGPACK_DECODER = msgspec.msgpack.Decoder(NodeStatus)
"""Decodes the fast client protocol's `status` answer."""
JSON_DECODER = msgspec.json.Decoder(NodeStatus)
"""Decodes a `GET /status` body."""
