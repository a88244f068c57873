"""The cluster file: who the members are, where they listen, where they keep data, and timers.

Two formats. A TOML cluster file (decoded with `msgspec.toml` into the structs below, unknown
fields refused so that a typo is an error rather than a silently ignored setting):

    cluster = "prod-kv"                # peers refuse frames from any other cluster id
    protocol = "multipaxos"            # optional: the consensus protocol (the default)
    data_dir = "/var/lib/pyxos"        # node k keeps its data in <data_dir>/node-<k>
    fault_injection = false            # true enables /crash and the like (tests, demos only)

    [[nodes]]
    id = 1                             # or Paxi-style "zone.node": id = "1.2"
    peer = "10.0.0.1:7000"             # peer protocol (binary frames over TCP)
    http = "0.0.0.0:8000"              # HTTP API
    client = "0.0.0.0:9000"            # optional: the fast client protocol (default: HTTP + 1000)
    # data_dir = "/mnt/fast/pyxos"     # optional: this node's own data directory

    [quorums]                          # optional: majority (the default), flexible or grid
    kind = "flexible"                  # Flexible Paxos: phase-1 quorums of q1 nodes and
    q1 = 4                             # phase-2 quorums of q2 (q1 + q2 must exceed the nodes)
    q2 = 2
    # kind = "grid", fz = 1, fn = 0    # WPaxos grids over zone.node ids (see core/quorum);
    # zones = 3                        # or over plain ids, split into 3 zones of consecutive ids
    thrifty = false                    # Paxi's thrifty: phase 2 sent to a quorum first

    [options]                          # optional: settings of the chosen protocol, as text
    policy = "majority"                # wpaxos: when an object moves to the zone that uses it
                                       # (immediate, consecutive[:N], majority[:TICKS], ema[:PCT])

    [timers]                           # optional: pyxos.core.config.ReplicaConfig fields
    tick_ms = 10
    election_timeout_ticks_min = 30

    [limits]                           # optional: runtime limits (see `Limits`)
    request_timeout_ms = 5000

And a plain host file, as the C seed used: one `host[:port]` per line (`#` starts a comment);
line k (counting non-blank lines) is node k, its peer port defaults to 7000, its HTTP port is
the peer port + 1000 and its client port the peer port + 2000. Relative data directories are
resolved against the cluster file's folder.

Node ids are positive integers, or, as in Paxi and WPaxos, `"zone.node"` strings (`"2.1"` is
node 1 of zone 2). A cluster uses one kind or the other. Inside, every node id is an integer (it
orders ballots and travels in every frame): `"z.n"` is `z * 1000 + n`, so zone 2's node 1 is
node 2001, and `format_node_id` writes it back as `"2.1"`.

An option the protocol does not read, or a value it cannot use, is refused at load (a
`ConfigError` naming the file, the option and the choices): `pyxos sim --protocol-option` and
`pyxos up --protocol-option` take the same names and values.

Every error is a `ConfigError` whose message names the file and the field at fault.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import NodeId
from pyxos.core.protocol import ProtocolSpec
from pyxos.core.protocols import DEFAULT_PROTOCOL, UnknownProtocol, protocol_spec
from pyxos.core.quorum import MAJORITY, QuorumSpec, QuorumSystem, check_intersection

PEER_PORT_DEFAULT = 7000
HTTP_PORT_OFFSET = 1000
"""In a host file, a node's HTTP port is its peer port plus this."""
CLIENT_PORT_OFFSET = 1000
"""A node without a `client` address serves the fast client protocol on its HTTP host, at the
HTTP port plus this (so 7000 / 8000 / 9000 for peers / HTTP / clients by default)."""


ZONE_NODES_MAX = 999
"""Nodes per zone in a `"zone.node"` id: the integer id is `zone * (ZONE_NODES_MAX + 1) + node`."""

_ZONE_NODE = re.compile(r"(\d+)\.(\d+)")


class ConfigError(ValueError):
    """The cluster file is wrong; the message names the file and the field."""


def parse_node_id(text: str | int) -> NodeId:
    """A node id as written (`3`, `"3"` or `"2.1"`) as the integer the protocol uses.

    Raises `ValueError` with a message that says what is wrong.
    """
    if isinstance(text, int):
        if text <= 0:
            raise ValueError(f"must be a positive integer, not {text}")
        return text
    match = _ZONE_NODE.fullmatch(text.strip())
    if match is None:
        if text.strip().isdigit():
            return parse_node_id(int(text))
        raise ValueError(f"{text!r} is neither a positive integer nor a zone.node id like 2.1")
    zone, node = int(match[1]), int(match[2])
    if zone < 1 or not 1 <= node <= ZONE_NODES_MAX:
        raise ValueError(f"{text!r}: zone must be 1 or more and node from 1 to {ZONE_NODES_MAX}")
    return zone * (ZONE_NODES_MAX + 1) + node


def zone_of(node_id: NodeId) -> int:
    """The zone of a node whose id came from a `"zone.node"` id (0 for a plain id below 1000)."""
    return node_id // (ZONE_NODES_MAX + 1)


def zone_node_ids(nodes: int, zones: int) -> tuple[NodeId, ...]:
    """The ids of `nodes` nodes in `zones` zones of consecutive nodes, as `"zone.node"` ids
    make them (`1.1, 1.2, 2.1, 2.2` is `1001, 1002, 2001, 2002`); the first `nodes % zones`
    zones get one node more. Raises `ValueError` for fewer nodes than zones."""
    if not 1 <= zones <= nodes:
        raise ValueError(f"{nodes} nodes cannot fill {zones} zones")
    size, extra = divmod(nodes, zones)
    return tuple(
        zone * (ZONE_NODES_MAX + 1) + node
        for zone in range(1, zones + 1)
        for node in range(1, size + (1 if zone <= extra else 0) + 1)
    )


def format_node_id(node_id: NodeId, *, zoned: bool) -> str:
    """The node id as a person writes it: `"2.1"` in a zoned cluster, `"2001"` otherwise."""
    if not zoned:
        return str(node_id)
    zone, node = divmod(node_id, ZONE_NODES_MAX + 1)
    return f"{zone}.{node}"


# ---- the file as written ------------------------------------------------------------------
class _Strict(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class TimersFile(_Strict):
    """Protocol timers and sizes; a missing field takes `ReplicaConfig`'s default."""

    tick_ms: int | None = None
    heartbeat_ticks: int | None = None
    election_timeout_ticks_min: int | None = None
    election_timeout_ticks_max: int | None = None
    election_timeout_ticks_jitter: int | None = None
    retransmit_ticks: int | None = None
    pipeline_slots_max: int | None = None
    batch_commands_max: int | None = None
    batch_bytes_max: int | None = None
    pending_commands_max: int | None = None
    catchup_slots_max: int | None = None
    catchup_bytes_max: int | None = None
    snapshot_every_slots: int | None = None


class QuorumsFile(_Strict):
    """The `[quorums]` table: which quorum system the replicas use (see `QuorumSpec`)."""

    kind: str = "majority"
    q1: int | None = None
    q2: int | None = None
    fz: int | None = None
    fn: int | None = None
    zones: int | None = None  # grid over plain ids: this many zones of consecutive ids
    thrifty: bool = False


class Limits(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Runtime limits. Every queue of the runtime is bounded by one of these."""

    # A client request that has no answer after this long gets a `timeout` error (its outcome
    # is unknown: it may still be applied).
    request_timeout_ms: int = 5000
    # A request with no answer yet is handed to the node again (same client id and seq) this
    # often: the leader it was forwarded to may have died, and a forward is never retried.
    request_retry_ms: int = 400
    # Write requests in flight per node (each holds one client id of the node's pool).
    clients_max: int = 4096
    # Peer messages and client requests waiting to be stepped; more peer messages are dropped
    # (the protocol retransmits), more client requests are refused with `unavailable`.
    inbox_max: int = 20_000
    # Records appended but not yet synced; past this the node stops taking input until the
    # disk catches up.
    unsynced_records_max: int = 50_000
    # The largest peer frame accepted or sent.
    frame_bytes_max: int = 64 * 1024 * 1024
    # Frames buffered for one peer whose socket is not draining; more are dropped.
    peer_buffer_bytes_max: int = 8 * 1024 * 1024
    # Reconnect backoff to an unreachable peer: doubles from min to max.
    reconnect_ms_min: int = 50
    reconnect_ms_max: int = 2000

    def check(self) -> None:
        for name in self.__struct_fields__:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.reconnect_ms_max < self.reconnect_ms_min:
            raise ValueError("reconnect_ms_max < reconnect_ms_min")


class NodeFile(_Strict):
    id: int | str
    peer: str
    http: str
    client: str | None = None
    data_dir: str | None = None


class ClusterFile(_Strict):
    cluster: str
    nodes: list[NodeFile]
    protocol: str = DEFAULT_PROTOCOL
    data_dir: str = "data"
    fault_injection: bool = False
    quorums: QuorumsFile = msgspec.field(default_factory=QuorumsFile)
    timers: TimersFile = msgspec.field(default_factory=TimersFile)
    limits: Limits = msgspec.field(default_factory=Limits)
    options: dict[str, str] = msgspec.field(default_factory=dict)


# ---- the resolved configuration -----------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeSpec:
    node_id: NodeId
    peer: HostPort
    http: HostPort
    client: HostPort
    data_dir: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterConfig:
    cluster: str
    nodes: tuple[NodeSpec, ...]
    timers: Mapping[str, int]
    limits: Limits
    source: str = "<config>"
    # Routes that hurt the node on purpose (`/crash`) answer only when this is on.
    fault_injection: bool = False
    # Node ids were written as "zone.node" (Paxi, WPaxos).
    zoned: bool = False
    protocol: str = DEFAULT_PROTOCOL
    quorums: QuorumSpec = MAJORITY
    # Paxi's thrifty option (see `pyxos.core.multipaxos.leader`).
    thrifty: bool = False
    # The `[options]` table, checked against the protocol: sorted `(name, value)` pairs.
    options: tuple[tuple[str, str], ...] = ()

    @property
    def protocol_spec(self) -> ProtocolSpec:
        """The protocol every member runs."""
        return protocol_spec(self.protocol)

    def quorum_system(self) -> QuorumSystem:
        """The quorum system over the members. Raises `ValueError` if it cannot be built."""
        return self.quorums.build(self.members, self.zones if self.zoned else None)

    @property
    def members(self) -> tuple[NodeId, ...]:
        return tuple(spec.node_id for spec in self.nodes)

    @property
    def zones(self) -> dict[int, tuple[NodeId, ...]]:
        """The members of each zone (one zone, 0, when the ids are plain integers)."""
        zones: dict[int, list[NodeId]] = {}
        for node_id in self.members:
            zones.setdefault(zone_of(node_id) if self.zoned else 0, []).append(node_id)
        return {zone: tuple(ids) for zone, ids in sorted(zones.items())}

    def name(self, node_id: NodeId) -> str:
        """`node_id` as the cluster file writes it."""
        return format_node_id(node_id, zoned=self.zoned)

    def node(self, node_id: NodeId) -> NodeSpec:
        """The node `node_id`; raises `ConfigError` if it is not a member."""
        for spec in self.nodes:
            if spec.node_id == node_id:
                return spec
        names = ", ".join(self.name(m) for m in self.members)
        raise ConfigError(f"{self.source}: no node with id {self.name(node_id)} (members: {names})")

    def resolve(self, text: str | int) -> NodeId:
        """The member named `text` (`"2"`, or `"1.2"` in a zoned cluster); `ConfigError` if
        there is none."""
        try:
            node_id = parse_node_id(text)
        except ValueError as exc:
            raise ConfigError(f"node id {exc}") from None
        if self.zoned != (isinstance(text, str) and "." in text):
            written = "zone.node ids like 1.2" if self.zoned else "plain integer ids"
            raise ConfigError(f"{self.source}: node id {text!r}: this cluster uses {written}")
        self.node(node_id)
        return node_id

    def replica_config(self, node_id: NodeId) -> ReplicaConfig:
        timers: dict[str, Any] = dict(self.timers)
        return ReplicaConfig(
            node_id=node_id,
            members=self.members,
            quorum=self.quorum_system(),
            thrifty=self.thrifty,
            options=self.options,
            **timers,
        )


# ---- parsing ------------------------------------------------------------------------------
def parse_host_port(text: str, *, default_port: int | None = None) -> HostPort:
    """`host:port`, `[v6]:port`, or `host` alone when `default_port` is given.

    Raises `ValueError` with a message that says what is wrong.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty address")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"{text!r}: missing ']'")
        port_text = rest[1:] if rest.startswith(":") else None
        if rest and port_text is None:
            raise ValueError(f"{text!r} is not [host]:port")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{text!r}: {host!r} is not an IPv6 address") from None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif ":" in text:
        raise ValueError(f"{text!r}: write an IPv6 address as [addr]:port")
    else:
        host, port_text = text, None
    if not host:
        raise ValueError(f"{text!r}: missing host")
    if port_text is None:
        if default_port is None:
            raise ValueError(f"{text!r} is not host:port")
        return HostPort(host=host, port=default_port)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: port must be a number from 1 to 65535")
    return HostPort(host=host, port=int(port_text))


def load_config(path: Path | str) -> ClusterConfig:
    """Read a cluster file: TOML if its name ends in `.toml`, a host file otherwise.

    Raises `ConfigError` (also for a file that cannot be read).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the cluster file: {exc.strerror}") from None
    if path.suffix == ".toml":
        return parse_toml(data, source=str(path), base_dir=path.parent)
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: a host file must be UTF-8 text") from None
    return parse_hosts(text, source=str(path), base_dir=path.parent)


def parse_toml(
    data: bytes | str, *, source: str = "<toml>", base_dir: Path = Path()
) -> ClusterConfig:
    """Decode and check a TOML cluster file. Raises `ConfigError`."""
    try:
        raw = msgspec.toml.decode(data, type=ClusterFile)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {_field_message(str(exc))}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return _resolve(raw, source=source, base_dir=base_dir)


def parse_hosts(
    text: str,
    *,
    source: str = "<hosts>",
    base_dir: Path = Path(),
    cluster: str = "pyxos",
    data_dir: str = "data",
) -> ClusterConfig:
    """A host file: one `host[:port]` per line; node k is the k-th address. Raises `ConfigError`."""
    nodes: list[NodeFile] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            peer = parse_host_port(entry, default_port=PEER_PORT_DEFAULT)
        except ValueError as exc:
            raise ConfigError(f"{source}: line {number}: {exc}") from None
        if peer.port + HTTP_PORT_OFFSET + CLIENT_PORT_OFFSET > 65535:
            raise ConfigError(
                f"{source}: line {number}: peer port {peer.port} leaves no HTTP and client "
                f"ports (peer port + {HTTP_PORT_OFFSET} and + "
                f"{HTTP_PORT_OFFSET + CLIENT_PORT_OFFSET})"
            )
        http = HostPort(host=peer.host, port=peer.port + HTTP_PORT_OFFSET)
        nodes.append(NodeFile(id=len(nodes) + 1, peer=str(peer), http=str(http)))
    raw = ClusterFile(cluster=cluster, nodes=nodes, data_dir=data_dir)
    return _resolve(raw, source=source, base_dir=base_dir)


def _field_message(message: str) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.nodes[0].id`"; lead with the field.
    text, sep, where = message.rpartition(" - at `")
    if not sep:
        return message
    field = where.rstrip("`").removeprefix("$").lstrip(".") or "(top level)"
    return f"{field}: {text}"


def _resolve(raw: ClusterFile, *, source: str, base_dir: Path) -> ClusterConfig:
    def fail(field: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {field}: {message}")

    if not raw.cluster.strip():
        raise fail("cluster", "must be a non-empty cluster id")
    if not raw.nodes:
        raise fail("nodes", "at least one [[nodes]] entry is needed")
    specs: list[NodeSpec] = []
    seen_ids: set[int] = set()
    seen_addresses: dict[tuple[str, int], str] = {}
    root = base_dir / raw.data_dir
    zoned = isinstance(raw.nodes[0].id, str) and "." in raw.nodes[0].id
    for index, node in enumerate(raw.nodes):
        where = f"nodes[{index}]"
        try:
            node_id = parse_node_id(node.id)
        except ValueError as exc:
            raise fail(f"{where}.id", str(exc)) from None
        if zoned != (isinstance(node.id, str) and "." in node.id):
            raise fail(f"{where}.id", f"{node.id!r}: use zone.node ids for every node or none")
        if node_id in seen_ids:
            raise fail(f"{where}.id", f"duplicate node id {node.id}")
        seen_ids.add(node_id)
        addresses: dict[str, HostPort] = {}
        for name in ("peer", "http", "client"):
            text = getattr(node, name)
            try:
                if text is not None:
                    address = parse_host_port(text)
                else:
                    address = _default_client(addresses["http"])
            except ValueError as exc:
                raise fail(f"{where}.{name}", str(exc)) from None
            key = (address.host, address.port)
            if key in seen_addresses:
                derived = " (the default: the HTTP port + 1000)" if text is None else ""
                raise fail(f"{where}.{name}", f"{address}{derived} is also {seen_addresses[key]}")
            seen_addresses[key] = f"{where}.{name}"
            addresses[name] = address
        data_dir = base_dir / node.data_dir if node.data_dir else root / f"node-{node.id}"
        specs.append(
            NodeSpec(
                node_id=node_id,
                peer=addresses["peer"],
                http=addresses["http"],
                client=addresses["client"],
                data_dir=data_dir,
            )
        )
    timers: dict[str, Any] = {
        name: value
        for name in TimersFile.__struct_fields__
        if (value := getattr(raw.timers, name)) is not None
    }
    try:
        protocol_spec(raw.protocol)
    except UnknownProtocol as exc:
        raise fail("protocol", str(exc)) from None
    options = _options(raw, fail)
    quorums = _quorums(raw.quorums, fail)
    if zoned and quorums.zones is not None:
        raise fail("quorums.zones", "the zones come from the zone.node ids: leave zones out")
    config = ClusterConfig(
        cluster=raw.cluster,
        nodes=tuple(sorted(specs, key=lambda s: s.node_id)),
        timers=timers,
        limits=raw.limits,
        source=source,
        fault_injection=raw.fault_injection,
        zoned=zoned,
        protocol=raw.protocol,
        quorums=quorums,
        thrifty=raw.quorums.thrifty,
        options=options,
    )
    try:
        system = config.quorum_system()
        if len(config.members) <= 16:
            check_intersection(system)
    except ValueError as exc:
        raise fail("quorums", str(exc)) from None
    try:
        config.replica_config(config.nodes[0].node_id)
    except ValueError as exc:
        raise fail("timers", str(exc)) from None
    try:
        raw.limits.check()
    except ValueError as exc:
        raise fail("limits", str(exc)) from None
    return config


def _options(raw: ClusterFile, fail: Any) -> tuple[tuple[str, str], ...]:
    """The `[options]` table checked against the protocol: an unknown name is refused with
    the names the protocol reads, a bad value with what the option takes."""
    spec = protocol_spec(raw.protocol)
    for name, value in raw.options.items():
        if name not in spec.options:
            known = ", ".join(sorted(spec.options)) or "none"
            raise fail(
                f"options.{name}",
                f"{spec.name} has no option {name!r} (its options: {known})",
            )
        try:
            spec.check_options([(name, value)])
        except ValueError as exc:
            raise fail(f"options.{name}", f"{exc}; {name} is {spec.options[name]}") from None
    return spec.check_options(raw.options.items())


def _quorums(raw: QuorumsFile, fail: Any) -> QuorumSpec:
    try:
        return QuorumSpec(
            kind=raw.kind, q1=raw.q1, q2=raw.q2, fz=raw.fz, fn=raw.fn, zones=raw.zones
        )
    except ValueError as exc:
        raise fail("quorums", str(exc)) from None


def cluster_toml(
    *,
    cluster: str,
    nodes: Sequence[
        tuple[NodeId, HostPort, HostPort] | tuple[NodeId, HostPort, HostPort, HostPort]
    ],
    data_dir: str = ".",
    timers: Mapping[str, int] | None = None,
    fault_injection: bool = False,
    protocol: str = DEFAULT_PROTOCOL,
    quorums: QuorumSpec = MAJORITY,
    thrifty: bool = False,
    options: Sequence[tuple[str, str]] = (),
    zoned: bool = False,
) -> str:
    """The text of a cluster file for `nodes`, as `pyxos up` writes it.

    Each node is `(id, peer, http)` or `(id, peer, http, client)`; without a client address the
    node takes the default (the HTTP port + 1000). With `zoned`, ids are written as
    `"zone.node"` (the integer `zone * 1000 + node`, see `parse_node_id`). The protocol, the
    quorums and the `[options]` table are written only when they are not the defaults.
    """
    lines = [
        "# A pyxos cluster file; see docs/running.md.",
        f"cluster = {_toml_string(cluster)}",
        f"data_dir = {_toml_string(data_dir)}",
    ]
    if protocol != DEFAULT_PROTOCOL:
        lines.append(f"protocol = {_toml_string(protocol)}")
    if fault_injection:
        lines.append("fault_injection = true  # /crash and the like answer: never in production")
    lines.append("")
    for node_id, peer, http, *client in nodes:
        lines += [
            "[[nodes]]",
            f"id = {_toml_string(format_node_id(node_id, zoned=True)) if zoned else node_id}",
            f"peer = {_toml_string(str(peer))}",
            f"http = {_toml_string(str(http))}",
            *(f"client = {_toml_string(str(c))}" for c in client),
            "",
        ]
    if quorums != MAJORITY or thrifty:
        lines.append("[quorums]")
        lines.append(f"kind = {_toml_string(quorums.kind)}")
        lines.extend(
            f"{name} = {value}"
            for name in ("q1", "q2", "fz", "fn", "zones")
            if (value := getattr(quorums, name)) is not None
        )
        if thrifty:
            lines.append("thrifty = true")
        lines.append("")
    if options:
        lines.append("[options]")
        lines.extend(f"{name} = {_toml_string(value)}" for name, value in options)
        lines.append("")
    if timers:
        lines.append("[timers]")
        lines.extend(f"{name} = {value}" for name, value in timers.items())
        lines.append("")
    return "\n".join(lines)


def _default_client(http: HostPort) -> HostPort:
    port = http.port + CLIENT_PORT_OFFSET
    if port > 65535:
        raise ValueError(
            f"no default client address: HTTP port {http.port} + {CLIENT_PORT_OFFSET} is over "
            '65535; set client = "host:port"'
        )
    return HostPort(host=http.host, port=port)


def _toml_string(text: str) -> str:
    # msgspec's JSON string encoding is also a valid TOML basic string.
    return msgspec.json.encode(text).decode()
