"""`pyxos status`: one line per node, from each node's HTTP `/status`.

The members come from the cluster file, or from the status of the first node that answers at
the client endpoints, found as every command finds the cluster (`pyxos.cli.cluster_args`).
Nodes are named as the cluster file writes them: `1.2` in a zoned cluster (Paxi's ids), else
`2`. `-o json` prints `{"members": [...], "quorum": ...}`, each member with `node`, `name`,
`http`, `health` (`up` or `down`), `error` and its `status` (the node's `/status`).

When no node that answered can reach a quorum (a majority is down or cut off), a last line
says so and names the nodes that are down or unreachable: reads and writes fail until enough of
them are back.

Exit status: 0 every node answered; 2 a usage error; 3 some node did not answer (it is listed
as `down`), the cluster has no quorum, or it could not be found.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from pyxos.cli.cluster_args import cluster_target
from pyxos.cli.kv_cmd import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, add_cluster_arguments
from pyxos.cli.output import add_output_argument, print_json, render_table
from pyxos.client.admin import Member, find_members, http_get
from pyxos.client.errors import PyxosError
from pyxos.core.protocol import ExecutionOrder
from pyxos.core.protocols import UnknownProtocol, protocol_spec
from pyxos.errors import name_nodes
from pyxos.runtime.status import JSON_DECODER, UNSET, NodeStatus

HTTP_TIMEOUT_S = 5.0
COLUMNS = ("node", "role", "leader", "view", "ballot", "decided", "applied", "peers", "http")
OBJECT_COLUMNS = (
    "node",
    "role",
    "owns",
    "objects",
    "ballot",
    "decided",
    "applied",
    "peers",
    "http",
)
"""A protocol with a log per object (WPaxos) has an owner per object instead of one leader:
its rows say how many objects the node owns of those it holds (`protocol_counters`)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_arguments(parser)
    add_output_argument(parser, ("table", "json"), default="table")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "status",
        help="every node's role, leader, ballot and indexes",
        description="A table of every node's role, leader, view, ballot, decided and applied "
        "index, from each node's HTTP /status.",
        epilog="exit status: 0 every node answered; 2 usage error; 3 some node did not answer, "
        "or the cluster has no quorum",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def resolve_members(name: str, args: argparse.Namespace) -> list[Member] | int:
    """The members `--config` / `--endpoints` point at, or an exit status after printing why
    they could not be found."""
    target = cluster_target(args)
    try:
        return find_members(
            config=target.config, endpoints=target.endpoints, timeout_s=args.timeout
        )
    except PyxosError as exc:  # before ValueError: BadRequest is one too
        hint = "" if target.source.startswith("--") else f" ({target.hint()})"
        print(f"{name}: error: cannot find the cluster: {exc}{hint}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except ValueError as exc:  # a bad cluster file (ConfigError) or address
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def fetch_status(member: Member, timeout_s: float) -> NodeStatus | str:
    """The member's `/status`, or why there is none."""
    try:
        code, body = http_get(member.http, "/status", timeout_s=timeout_s)
    except OSError as exc:
        return str(exc)
    if code != 200:
        return f"/status answered {code}"
    try:
        return JSON_DECODER.decode(body)
    except msgspec.DecodeError as exc:
        return f"an unreadable /status: {exc}"


def _row(member: Member, status: NodeStatus | str, names: Mapping[int, str]) -> list[str]:
    """The row of `member`; node ids are shown by their `names` (`"1.2"` in a zoned cluster)."""
    if isinstance(status, str):
        return [member.label, "down", "", "", "", "", "", "", f"{member.http} ({status})"]

    def name(node: int) -> str:
        return names.get(node, str(node))

    peers = [] if status.peers_connected is UNSET else status.peers_connected
    counters = status.protocol_counters
    if per_object(status):
        owned = counters.get("objects_owned", 0)
        role = "stopped" if status.role == "stopped" else "owner" if owned else "follower"
        middle = [role, str(owned), str(counters.get("objects", 0))]
    else:
        leader = "-" if status.leader is None else name(status.leader)
        middle = [status.role, leader, str(status.view)]
    return [
        status.label if status.name is not UNSET else name(status.node),
        *middle,
        status.ballot,
        str(status.decided_index),
        str(status.applied_index),
        ",".join(name(p) for p in peers) or "-",
        str(member.http),
    ]


def per_object(status: NodeStatus) -> bool:
    """Whether the node's protocol keeps a log per object (each with its own owner)."""
    try:
        return protocol_spec(status.protocol).order is ExecutionOrder.PER_OBJECT
    except UnknownProtocol:  # a newer node's: show what every protocol has
        return False


def no_quorum_line(members: Sequence[Member], statuses: Sequence[NodeStatus | str]) -> str:
    """`"no quorum: ..."` naming the nodes down or unreachable, when no node that answered can
    reach a quorum; `""` while one can (a node of a cut-off minority says it cannot, but the
    majority's nodes answer that they can)."""
    answered = [s for s in statuses if isinstance(s, NodeStatus)]
    if any(s.quorum is UNSET or s.quorum for s in answered):
        return ""
    lost = {m.node for m, s in zip(members, statuses, strict=True) if isinstance(s, str)}
    for status in answered:
        if status.unreachable is not UNSET:
            lost.update(status.unreachable)
    names = {member.node: member.label for member in members}
    shown = [names.get(node, str(node)) for node in sorted(lost)]  # zoned: "1.2", not 1002
    verb = "is" if len(shown) == 1 else "are"
    return (
        f"no quorum: {name_nodes(shown)} {verb} down or unreachable; reads and writes fail "
        "until enough of them are back"
    )


def run(args: argparse.Namespace) -> int:
    members = resolve_members("pyxos status", args)
    if isinstance(members, int):
        return members
    timeout_s = min(args.timeout, HTTP_TIMEOUT_S)
    statuses = [fetch_status(member, timeout_s) for member in members]
    every = all(isinstance(status, NodeStatus) for status in statuses)
    lost = no_quorum_line(members, statuses)
    if args.output == "json":
        entries = [_entry(m, s) for m, s in zip(members, statuses, strict=True)]
        print_json({"members": entries, "quorum": not lost})
    else:
        names = {member.node: member.label for member in members}
        owners = any(isinstance(s, NodeStatus) and per_object(s) for s in statuses)
        columns = OBJECT_COLUMNS if owners else COLUMNS
        rows: list[Sequence[str]] = [[c.upper() for c in columns]]
        rows += [_row(m, s, names) for m, s in zip(members, statuses, strict=True)]
        print(render_table(rows), end="")
        if lost:
            print(lost)
    return EXIT_OK if every and not lost else EXIT_UNAVAILABLE


def _entry(member: Member, status: NodeStatus | str) -> dict[str, Any]:
    up = isinstance(status, NodeStatus)
    return {
        "node": member.node,
        "name": member.label,
        "http": str(member.http),
        "health": "up" if up else "down",
        "error": None if up else status,
        "status": msgspec.to_builtins(status) if up else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxos status", description="Every node's status.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
