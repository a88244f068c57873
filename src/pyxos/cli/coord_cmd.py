"""`pyxos ask`, `pyxos queue push|peek|pop` and `pyxos map get|put|update|del`.

- `pyxos ask KEY [VALUE]`: propose VALUE for KEY (the first value ever proposed is decided) and
  print the decided value; without VALUE only learn it (exit 1 if nothing is decided).
- `pyxos queue push NAME ITEM` prints the length after; `peek` and `pop` print the head item
  (exit 1 if the queue is empty).
- `pyxos map get KEY` prints `VERSION<TAB>VALUE`; `put KEY VALUE` and `update KEY VALUE
  --version N` print the new version (`update` only if the entry is at version N, 0: absent);
  `del KEY [--version N]`. Exit 1 on an absent entry or a version conflict (the current version
  is on stderr).

A VALUE or ITEM of `-` is read from stdin. Exit status 2 is a usage error, 3 a cluster that did
not answer, as for `pyxos kv`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pyxos.cli.kv_cmd import EXIT_NOT_FOUND, EXIT_OK, add_cluster_arguments, run_with_client
from pyxos.client import Client, QueueEmpty, VersionConflict


def _value(text: str) -> bytes:
    return sys.stdin.buffer.read() if text == "-" else text.encode()


def _out(data: bytes) -> None:
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.flush()


def _missing(name: str, what: str) -> int:
    print(f"{name}: {what}", file=sys.stderr)
    return EXIT_NOT_FOUND


def _ask(client: Client, args: argparse.Namespace) -> int:
    value = client.ask(args.key, None if args.value is None else _value(args.value))
    if value is None:
        return _missing("pyxos ask", f"nothing decided for {args.key!r} yet")
    _out(value)
    return EXIT_OK


def _queue(client: Client, args: argparse.Namespace) -> int:
    name = f"pyxos queue {args.queue_command}"
    if args.queue_command == "push":
        if args.item is None:
            print(f"{name}: error: an item is required", file=sys.stderr)
            return 2
        print(client.queue_push(args.name, _value(args.item)))
        return EXIT_OK
    try:
        item = (
            client.queue_pop(args.name)
            if args.queue_command == "pop"
            else client.queue_peek(args.name)
        )
    except QueueEmpty:
        item = None
    if item is None:
        return _missing(name, f"queue {args.name!r} is empty")
    _out(item)
    return EXIT_OK


def _map(client: Client, args: argparse.Namespace) -> int:
    command = args.map_command
    name = f"pyxos map {command}"
    try:
        if command == "get":
            entry = client.map_get(args.key)
            if entry is None:
                return _missing(name, f"no entry {args.key!r}")
            sys.stdout.buffer.write(f"{entry[1]}\t".encode())
            _out(entry[0])
        elif command in ("put", "update"):
            version = args.version if command == "update" else None
            print(client.map_put(args.key, _value(args.value), version=version))
        elif not client.map_delete(args.key, version=args.version):
            return _missing(name, f"no entry {args.key!r}")
    except VersionConflict as exc:
        return _missing(name, f"{exc}; nothing written")
    return EXIT_OK


def register(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    add_cluster_arguments(common)

    ask = sub.add_parser(
        "ask",
        parents=[common],
        help="per-key consensus: the first value proposed for a key wins",
        description="Propose a value for a key and print the decided one (or only learn it).",
    )
    ask.add_argument("key")
    ask.add_argument("value", nargs="?", help="the value to propose; - reads stdin")
    ask.set_defaults(func=lambda args: run_with_client("pyxos ask", args, lambda c: _ask(c, args)))

    queue = sub.add_parser("queue", help="a replicated FIFO queue: push, peek, pop")
    ops = queue.add_subparsers(dest="queue_command", metavar="OP", required=True)
    for op, what in (
        ("push", "append an item"),
        ("peek", "print the head"),
        ("pop", "take the head"),
    ):
        p = ops.add_parser(op, parents=[common], help=what)
        p.add_argument("name")
        if op == "push":
            p.add_argument("item", help="the item; - reads stdin")
    queue.set_defaults(
        func=lambda args: run_with_client(
            f"pyxos queue {args.queue_command}", args, lambda c: _queue(c, args)
        ),
        item=None,
    )

    vmap = sub.add_parser("map", help="a versioned map: get, put, update, del")
    mops = vmap.add_subparsers(dest="map_command", metavar="OP", required=True)
    get = mops.add_parser("get", parents=[common], help="print VERSION<TAB>VALUE")
    get.add_argument("key")
    put = mops.add_parser("put", parents=[common], help="write unconditionally")
    put.add_argument("key")
    put.add_argument("value")
    update = mops.add_parser("update", parents=[common], help="write only at --version")
    update.add_argument("key")
    update.add_argument("value")
    update.add_argument("--version", type=int, required=True, help="0: only if absent")
    delete = mops.add_parser("del", parents=[common], help="delete (only at --version if given)")
    delete.add_argument("key")
    delete.add_argument("--version", type=int, default=None)
    vmap.set_defaults(
        func=lambda args: run_with_client(
            f"pyxos map {args.map_command}", args, lambda c: _map(c, args)
        )
    )
