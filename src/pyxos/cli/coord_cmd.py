"""`pyxos ask`, `pyxos queue push|peek|pop` and `pyxos map get|put|update|del`.

Each takes what it works on first, the same way: `pyxos queue OP NAME [ITEM]` (a queue by
name) and `pyxos map OP KEY [VALUE]` (an entry of the one versioned map by key), `pyxos ask
KEY [VALUE]`; an ITEM or VALUE of `-` is read from stdin. Output is the plain format of every
command (`pyxos.cli.output`), or JSON with `-o json`:

- `pyxos ask KEY [VALUE]`: propose VALUE for KEY (the first value ever proposed is decided)
  and print the decided value; without VALUE only learn it (exit 1 if nothing is decided).
- `pyxos queue push NAME ITEM` prints `OK length=N`, the length after; `peek` and `pop` print
  the head item (exit 1 if the queue is empty).
- `pyxos map get KEY` prints the value (`-o json` adds its version); `put KEY VALUE` and
  `update KEY VALUE --version N` print `OK version=V`, the new version (`update` only if the
  entry is at version N, 0: absent); `del KEY [--version N]` prints `OK`. An absent entry is
  `key 'K' not found`, as for `pyxos kv`.

Exit status: 0 done; 1 absent (an entry, an empty queue, nothing decided) or a version
conflict (nothing written; the current version is on stderr); 2 a usage error; 3 the cluster
did not answer.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from pyxos.cli.kv_cmd import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    add_cluster_arguments,
    not_found,
    run_with_client,
)
from pyxos.cli.output import add_output_argument, json_value, print_json, print_ok, print_value
from pyxos.client import Client, QueueEmpty, VersionConflict

EPILOG = (
    "exit status: 0 done; 1 absent (an entry, an empty queue, nothing decided) or a version "
    "conflict (nothing written); 2 usage error; 3 the cluster did not answer"
)
STDIN_HELP = "; - reads it from stdin"


def _value(text: str) -> bytes:
    return sys.stdin.buffer.read() if text == "-" else text.encode()


def _missing(name: str, what: str) -> int:
    print(f"{name}: {what}", file=sys.stderr)
    return EXIT_NOT_FOUND


def _ask(client: Client, args: argparse.Namespace) -> int:
    value = client.ask(args.key, None if args.value is None else _value(args.value))
    if value is None:
        return _missing("pyxos ask", f"nothing decided for {args.key!r} yet")
    if args.output == "json":
        print_json({"key": args.key, **json_value(value)})
    else:
        print_value(value)
    return EXIT_OK


def _queue(client: Client, args: argparse.Namespace) -> int:
    name = f"pyxos queue {args.queue_command}"
    if args.queue_command == "push":
        length = client.queue_push(args.name, _value(args.item))
        if args.output == "json":
            print_json({"ok": True, "queue": args.name, "length": length})
        else:
            print_ok({"length": length})
        return EXIT_OK
    try:
        item = (
            client.queue_pop(args.name)
            if args.queue_command == "pop"
            else client.queue_peek(args.name, "stale" if args.stale else "linearizable")
        )
    except QueueEmpty:
        item = None
    if item is None:
        return _missing(name, f"queue {args.name!r} is empty")
    if args.output == "json":
        print_json({"queue": args.name, **json_value(item, "item")})
    else:
        print_value(item)
    return EXIT_OK


def _map(client: Client, args: argparse.Namespace) -> int:
    command = args.map_command
    name = f"pyxos map {command}"
    json = args.output == "json"
    try:
        if command == "get":
            entry = client.map_get(args.key, "stale" if args.stale else "linearizable")
            if entry is None:
                return not_found(name, args.key)
            value, version = entry
            if json:
                print_json({"key": args.key, **json_value(value), "version": version})
            else:
                print_value(value)
        elif command in ("put", "update"):
            expected = args.version if command == "update" else None
            version = client.map_put(args.key, _value(args.value), version=expected)
            if json:
                print_json({"ok": True, "key": args.key, "version": version})
            else:
                print_ok({"version": version})
        elif not client.map_delete(args.key, version=args.version):
            return not_found(name, args.key)
        elif json:
            print_json({"ok": True, "key": args.key, "deleted": True})
        else:
            print_ok()
    except VersionConflict as exc:
        return _missing(name, f"{exc}; nothing written")
    return EXIT_OK


def _handler(
    prefix: str, command: str, action: Callable[[Client, argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        op = getattr(args, command) if command else ""
        name = f"{prefix} {op}".rstrip()
        return run_with_client(name, args, lambda client: action(client, args))

    return run


def register(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    add_cluster_arguments(common)
    add_output_argument(common)

    def stale(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--stale", action="store_true", help="read the node's state at once (may be behind)"
        )

    ask = sub.add_parser(
        "ask",
        parents=[common],
        help="per-key consensus: the first value proposed for a key wins",
        description="Propose a value for a key and print the decided one (or only learn it).",
        epilog=EPILOG,
    )
    ask.add_argument("key", help="the question: any UTF-8 text up to 1 KiB")
    ask.add_argument(
        "value", nargs="?", help="the value to propose (without it: only learn)" + STDIN_HELP
    )
    ask.set_defaults(func=_handler("pyxos ask", "", _ask))

    queue = sub.add_parser(
        "queue",
        help="replicated FIFO queues, by name: push, peek, pop",
        description="Replicated FIFO queues, each by its name: `pyxos queue OP NAME [ITEM]`.",
        epilog=EPILOG,
    )
    ops = queue.add_subparsers(dest="queue_command", metavar="OP", required=True)
    for op, what in (
        ("push", "append ITEM to queue NAME; prints OK length=N"),
        ("peek", "print the head of queue NAME, leaving it there"),
        ("pop", "take the head of queue NAME and print it"),
    ):
        p = ops.add_parser(op, parents=[common], help=what, description=what + ".", epilog=EPILOG)
        p.add_argument("name", metavar="NAME", help="the queue's name (UTF-8 text, up to 1 KiB)")
        if op == "push":
            p.add_argument("item", metavar="ITEM", help="the item (up to 1 MiB)" + STDIN_HELP)
        if op == "peek":
            stale(p)
    queue.set_defaults(func=_handler("pyxos queue", "queue_command", _queue), stale=False)

    vmap = sub.add_parser(
        "map",
        help="a versioned map, by key: get, put, update, del",
        description="One replicated map whose entries carry a version (1 when created, one "
        "more per write): `pyxos map OP KEY [VALUE]`.",
        epilog=EPILOG,
    )
    mops = vmap.add_subparsers(dest="map_command", metavar="OP", required=True)

    def map_op(op: str, what: str, *, value: bool) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = mops.add_parser(
            op, parents=[common], help=what, description=what + ".", epilog=EPILOG
        )
        p.add_argument("key", metavar="KEY", help="the entry's key (UTF-8 text, up to 1 KiB)")
        if value:
            p.add_argument("value", metavar="VALUE", help="the value (up to 1 MiB)" + STDIN_HELP)
        return p

    stale(map_op("get", "print entry KEY's value (-o json: and its version)", value=False))
    map_op("put", "write entry KEY whatever its version; prints OK version=V", value=True)
    map_op(
        "update", "write entry KEY only at --version N; prints OK version=V", value=True
    ).add_argument(
        "--version",
        type=int,
        required=True,
        metavar="N",
        help="the version the entry must be at (0: only if absent)",
    )
    map_op("del", "delete entry KEY; prints OK, or exits 1 if absent", value=False).add_argument(
        "--version", type=int, default=None, metavar="N", help="only if at this version"
    )
    vmap.set_defaults(func=_handler("pyxos map", "map_command", _map), stale=False)
