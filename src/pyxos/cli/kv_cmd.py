"""`pyxos kv get|put|del|cas|list`: the key-value store from the command line.

Through the Python client (`pyxos.client.Client`, the fast client protocol). The cluster is
found as every command finds it (`pyxos.cli.cluster_args`): `--config FILE`, `--endpoints
HOST:PORT,...`, `$PYXOS_ENDPOINTS`, `./pyxos-data/cluster.toml`, else `127.0.0.1:9000`.

Output (`pyxos.cli.output`): `get` prints the value and a newline; `put`, `del` and `cas` print
`OK`; `list` prints `key<TAB>value` lines (control characters and bytes that are not UTF-8
escaped, so one key is one line; `-o table` aligns them under a header), and when more keys
match, a line on stderr that gives the `--after KEY` of the next page. `-o json` prints one JSON
document instead.

`put` and `del` take `--lock NAME --token T` for a fenced write: it is applied only if T is
the lock's current unexpired grant (`pyxos lock get` prints the token), see docs/coordination.md.

Exit status: 0 done; 1 the key is absent (`get`, `del`), a `cas` found another value, or a
fenced write's token is stale (nothing written);
2 a usage error (bad arguments, a key or value too large, a bad cluster file); 3 the cluster did
not answer (unavailable, timeout, no quorum: after a timeout a write may still be applied).
Errors are one line on stderr that names the problem.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from pyxos.cli.client_run import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    run_with_client,
)
from pyxos.cli.cluster_args import add_cluster_arguments
from pyxos.cli.output import add_output_argument, json_value, print_json, print_ok, print_rows
from pyxos.cli.output import print_value as _out
from pyxos.client import CasMismatch, Client
from pyxos.client.errors import StaleToken

__all__ = [
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "add_arguments",
    "add_cluster_arguments",
    "main",
    "register",
    "run",
    "run_with_client",
]

EPILOG = (
    "exit status: 0 done; 1 the key is absent, a cas found another value, or a fenced "
    "write's token is stale (nothing written); 2 usage error; 3 the cluster did not answer "
    "(after a timeout a write may still be applied)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    add_cluster_arguments(common)
    add_output_argument(common)
    ops = parser.add_subparsers(dest="kv_command", metavar="OP", required=True)

    def op(name: str, help_text: str, *, parents: list[argparse.ArgumentParser]) -> Any:
        return ops.add_parser(
            name, parents=parents, help=help_text, description=help_text + ".", epilog=EPILOG
        )

    get = op("get", "print a key's value", parents=[common])
    get.add_argument("key", help="the key (UTF-8 text, at most 1 KiB)")
    get.add_argument(
        "--stale", action="store_true", help="read the node's state at once (may be behind)"
    )
    get.set_defaults(kv=_get)
    put = op("put", "set a key; prints OK", parents=[common])
    put.add_argument("key", help="the key (UTF-8 text, at most 1 KiB)")
    put.add_argument("value", help="the value (at most 1 MiB); - reads it from stdin")
    _add_fence_arguments(put)
    put.set_defaults(kv=_put)
    delete = op("del", "delete a key; prints OK, or exits 1 if it was absent", parents=[common])
    delete.add_argument("key", help="the key")
    _add_fence_arguments(delete)
    delete.set_defaults(kv=_delete)
    cas = op("cas", "set a key only if it has the expected value", parents=[common])
    cas.add_argument("key", help="the key")
    cas.add_argument("value", help="the new value; - reads it from stdin")
    expected = cas.add_mutually_exclusive_group(required=True)
    expected.add_argument("--expected", metavar="OLD", help="the value the key must have")
    expected.add_argument("--absent", action="store_true", help="the key must be absent")
    cas.set_defaults(kv=_cas)
    listing_common = argparse.ArgumentParser(add_help=False)
    add_cluster_arguments(listing_common)
    add_output_argument(listing_common, ("plain", "table", "json"))
    listing = op("list", "list the keys with a prefix, in key order", parents=[listing_common])
    listing.add_argument("prefix", nargs="?", default="", help="only keys that start with this")
    listing.add_argument("--limit", type=int, default=1000, help="at most this many keys (1000)")
    listing.add_argument(
        "--after", metavar="KEY", default="", help="only keys after KEY (the next page's cursor)"
    )
    listing.add_argument("--stale", action="store_true", help="read the node's state at once")
    listing.set_defaults(kv=_list)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "kv",
        help="get, put, delete, compare-and-set and list keys",
        description="The replicated key-value store, through the fast client protocol.",
        epilog=EPILOG,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def _add_fence_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lock", metavar="NAME", help="a fenced write: the lock that guards it")
    parser.add_argument(
        "--token", type=int, metavar="T", help="a fenced write: your grant's fencing token"
    )


def _fence(args: argparse.Namespace) -> tuple[str, int] | None:
    """`(lock, token)` of a fenced write, None for a plain one; ValueError if half given."""
    if (args.lock is None) != (args.token is None):
        raise ValueError("a fenced write needs both --lock and --token")
    return None if args.lock is None else (args.lock, args.token)


def _stale(name: str, exc: StaleToken, token: int) -> int:
    print(f"{name}: token {token} is stale: {exc}", file=sys.stderr)
    return EXIT_NOT_FOUND


def _value(text: str) -> bytes:
    return sys.stdin.buffer.read() if text == "-" else text.encode()


def not_found(name: str, key: str) -> int:
    """What every command says of an absent key: one line on stderr, exit 1."""
    print(f"{name}: key {key!r} not found", file=sys.stderr)
    return EXIT_NOT_FOUND


def _show(value: bytes | None) -> str:
    return "absent" if value is None else repr(value.decode(errors="backslashreplace"))


def _previous(previous: bytes | None) -> dict[str, Any]:
    return {"previous": None} if previous is None else json_value(previous, "previous")


def _get(client: Client, args: argparse.Namespace) -> int:
    value = client.get(args.key, "stale" if args.stale else "linearizable")
    if value is None:
        return not_found("pyxos kv get", args.key)
    if args.output == "json":
        print_json({"key": args.key, **json_value(value)})
    else:
        _out(value)
    return EXIT_OK


def _put(client: Client, args: argparse.Namespace) -> int:
    fence = _fence(args)
    if fence is None:
        previous = client.put(args.key, _value(args.value))
    else:
        try:
            previous = client.put_fenced(
                args.key, _value(args.value), lock=fence[0], token=fence[1]
            )
        except StaleToken as exc:
            return _stale("pyxos kv put", exc, fence[1])
    if args.output == "json":
        print_json({"ok": True, "key": args.key, **_previous(previous)})
    else:
        print_ok()
    return EXIT_OK


def _delete(client: Client, args: argparse.Namespace) -> int:
    fence = _fence(args)
    if fence is None:
        previous = client.delete(args.key)
    else:
        try:
            previous = client.delete_fenced(args.key, lock=fence[0], token=fence[1])
        except StaleToken as exc:
            return _stale("pyxos kv del", exc, fence[1])
    if previous is None:
        return not_found("pyxos kv del", args.key)
    if args.output == "json":
        print_json({"ok": True, "key": args.key, "deleted": True, **_previous(previous)})
    else:
        print_ok()
    return EXIT_OK


def _cas(client: Client, args: argparse.Namespace) -> int:
    expected = None if args.absent else args.expected.encode()
    try:
        client.cas(args.key, expected, _value(args.value))
    except CasMismatch as exc:
        print(
            f"pyxos kv cas: {args.key!r} is {_show(exc.current)}, not {_show(expected)}: "
            "nothing written",
            file=sys.stderr,
        )
        return EXIT_NOT_FOUND
    if args.output == "json":
        print_json({"ok": True, "key": args.key})
    else:
        print_ok()
    return EXIT_OK


def _list(client: Client, args: argparse.Namespace) -> int:
    listing = client.scan(
        args.prefix,
        limit=args.limit,
        after=args.after,
        consistency="stale" if args.stale else "linearizable",
    )
    if args.output == "json":
        items = [{"key": key, **json_value(value)} for key, value in listing.items]
        print_json({"items": items, "truncated": listing.truncated, "next": listing.next})
        return EXIT_OK
    print_rows(("key", "value"), listing.items, args.output)
    if listing.truncated:
        more = f"pyxos kv list: more keys than --limit {args.limit}"
        if listing.next is not None:
            more += f"; the next page: --after {shlex.quote(listing.next)}"
        print(more, file=sys.stderr)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    action = args.kv
    return run_with_client(f"pyxos kv {args.kv_command}", args, lambda c: action(c, args))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxos kv", description="The key-value store.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
