"""`pyxos log dump [--node K]`: print a node's committed log, one slot per line.

GoPaxos' log print: the text of the node's HTTP `GET /log/print/dump`, `{slot} {commands}`
per line, `{slot} UNKNOWN` for a slot the node does not hold (before its snapshot). The node is
`--node K` (default: the first member) of the cluster, found as every command finds it
(`pyxos.cli.cluster_args`). `-o json` prints `{"node", "slots": [{"slot", "commands"}]}`,
`commands` null for a slot the node does not hold.

Exit status: 0 printed; 2 a usage error (no such node); 3 the node did not answer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from pyxos.check.logs import parse_log
from pyxos.cli.kv_cmd import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, add_cluster_arguments
from pyxos.cli.output import add_output_argument, print_json
from pyxos.cli.status_cmd import resolve_members
from pyxos.client.admin import http_get

LOG_PATH = "/log/print/dump"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    dump = actions.add_parser(
        "dump",
        help="print a node's committed log",
        description="Print a node's committed log, one slot a line: SLOT COMMANDS.",
        epilog="exit status: 0 printed; 2 usage error (no such node); 3 the node did not answer",
    )
    add_cluster_arguments(dump)
    add_output_argument(dump)
    dump.add_argument("--node", type=int, default=None, help="the node (default: the first)")
    dump.add_argument("--from", dest="first", type=int, default=None, help="first slot")
    dump.add_argument("--to", dest="last", type=int, default=None, help="last slot")
    dump.add_argument(
        "--object",
        default=None,
        metavar="KEY",
        help=(
            "under wpaxos (a log per object): this object's log, in its own slots, alike on "
            "every node (the locks, queues, map and ask share the object @)"
        ),
    )
    dump.set_defaults(log_action=dump_log)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "log",
        help="look at a node's committed log",
        description="Look at a node's committed log (GoPaxos' log print).",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def log_path(first: int | None, last: int | None, obj: str | None = None) -> str:
    query = [
        f"{name}={value}" for name, value in (("from", first), ("to", last)) if value is not None
    ]
    if obj is not None:
        query.append(f"object={quote(obj, safe='')}")
    return LOG_PATH + ("?" + "&".join(query) if query else "")


def dump_log(args: argparse.Namespace) -> int:
    name = "pyxos log dump"
    members = resolve_members(name, args)
    if isinstance(members, int):
        return members
    chosen = [m for m in members if args.node is None or m.node == args.node]
    if not chosen:
        known = ", ".join(str(m.node) for m in members)
        print(f"{name}: error: no node {args.node} (members: {known})", file=sys.stderr)
        return EXIT_USAGE
    member = chosen[0]
    try:
        code, body = http_get(
            member.http, log_path(args.first, args.last, args.object), timeout_s=args.timeout
        )
    except OSError as exc:
        print(f"{name}: error: node {member.node} at {member.http}: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if code != 200:
        text = body.decode(errors="replace").strip()
        print(f"{name}: error: node {member.node} answered {code}: {text}", file=sys.stderr)
        return EXIT_UNAVAILABLE if code >= 500 else EXIT_USAGE
    if args.output == "json":
        slots = parse_log(body.decode(errors="replace"))
        entries = [{"slot": slot, "commands": slots[slot]} for slot in sorted(slots)]
        print_json({"node": member.node, "slots": entries})
        return EXIT_OK
    sys.stdout.buffer.write(body)
    sys.stdout.flush()
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    action: Any = args.log_action
    result: int = action(args)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxos log", description="A node's committed log.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
