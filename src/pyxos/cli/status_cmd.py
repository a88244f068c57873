"""`pyxos status`: one line per node, from each node's HTTP `/status`.

The members come from `--config FILE`, or from the status of the first node that answers at
`--endpoints` (client addresses; default `127.0.0.1:9000`, `pyxos up`'s node 1). Nodes are
named as the cluster file writes them: `1.2` in a zoned cluster (Paxi's ids), else `2`.

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

from pyxos.cli.kv_cmd import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, add_cluster_arguments
from pyxos.client.admin import Member, find_members, http_json
from pyxos.client.errors import PyxosError
from pyxos.errors import name_nodes

HTTP_TIMEOUT_S = 5.0
COLUMNS = ("node", "role", "leader", "view", "ballot", "decided", "applied", "peers", "http")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_arguments(parser)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "status",
        help="every node's role, leader, ballot and indexes",
        description="A table of every node's role, leader, view, ballot, decided and applied "
        "index, from each node's HTTP /status.",
        epilog=(
            "exit status: 0 every node answered; 2 usage error; 3 some node did not answer, "
            "or the cluster has no quorum"
        ),
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def resolve_members(name: str, args: argparse.Namespace) -> list[Member] | int:
    """The members `--config` / `--endpoints` point at, or an exit status after printing why
    they could not be found."""
    try:
        return find_members(config=args.config, endpoints=args.endpoints, timeout_s=args.timeout)
    except PyxosError as exc:  # before ValueError: BadRequest is one too
        print(f"{name}: error: cannot find the cluster: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except ValueError as exc:  # a bad cluster file (ConfigError) or address
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _row(
    member: Member, names: Mapping[int, str], timeout_s: float
) -> tuple[list[str], dict[str, Any] | None]:
    """The row of `member` and its status (None: down); node ids are shown by their `names`
    (`"1.2"` in a zoned cluster)."""

    def name(node: Any) -> str:
        return names.get(node, str(node)) if isinstance(node, int) else str(node)

    try:
        code, body = http_json(member.http, "/status", timeout_s=timeout_s)
    except (OSError, ValueError) as exc:
        return [member.label, "down", "", "", "", "", "", "", f"{member.http} ({exc})"], None
    if code != 200 or not isinstance(body, dict):
        return [member.label, "down", "", "", "", "", "", "", f"{member.http} ({code})"], None
    peers = ",".join(name(p) for p in body.get("peers_connected", []))
    leader = body.get("leader")
    return [
        str(body.get("name") or name(body.get("node", member.node))),
        str(body.get("role", "?")),
        "-" if leader is None else name(leader),
        str(body.get("view", "")),
        str(body.get("ballot", "")),
        str(body.get("decided_index", "")),
        str(body.get("applied_index", "")),
        peers or "-",
        str(member.http),
    ], body


def no_quorum_line(members: Sequence[Member], statuses: Mapping[int, dict[str, Any] | None]) -> str:
    """`"no quorum: ..."` naming the nodes down or unreachable, when no node that answered can
    reach a quorum; `""` while one can (a node of a cut-off minority says it cannot, but the
    majority's nodes answer that they can)."""
    answered = [body for body in statuses.values() if body is not None]
    if any(body.get("quorum", True) for body in answered):
        return ""
    lost = {node for node, body in statuses.items() if body is None}
    for body in answered:
        lost.update(n for n in body.get("unreachable", []) if isinstance(n, int))
    names = {member.node: member.label for member in members}
    shown = [names.get(node, str(node)) for node in sorted(lost)]  # zoned: "1.2", not 1002
    verb = "is" if len(shown) == 1 else "are"
    return (
        f"no quorum: {name_nodes(shown)} {verb} down or unreachable; reads and writes fail "
        "until enough of them are back"
    )


def render_table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def run(args: argparse.Namespace) -> int:
    members = resolve_members("pyxos status", args)
    if isinstance(members, int):
        return members
    rows: list[Sequence[str]] = [[c.upper() for c in COLUMNS]]
    names = {member.node: member.label for member in members}
    statuses: dict[int, dict[str, Any] | None] = {}
    for member in members:
        row, statuses[member.node] = _row(member, names, min(args.timeout, HTTP_TIMEOUT_S))
        rows.append(row)
    print(render_table(rows), end="")
    lost = no_quorum_line(members, statuses)
    if lost:
        print(lost)
    every = all(body is not None for body in statuses.values())
    return EXIT_OK if every and not lost else EXIT_UNAVAILABLE


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxos status", description="Every node's status.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
