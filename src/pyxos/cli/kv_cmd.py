"""`pyxos kv get|put|del|cas|list`: the key-value store from the command line.

Through the Python client (`pyxos.client.Client`, the fast client protocol). The cluster is
found from `--config FILE` (every member's client address) or `--endpoints HOST:PORT,...`
(default `127.0.0.1:9000`, node 1 of `pyxos up`; the node names the other members).

Output: `get` prints the value and a newline; `list` prints `key<TAB>value` lines (values as
UTF-8, bytes that are not shown as `\\xNN`), and when more keys match, a line on stderr that
gives the `--after KEY` of the next page; `put`, `del` and `cas` print `OK`.

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
from collections.abc import Callable, Sequence
from typing import Any

from pyxos.client import BadRequest, CasMismatch, Client, PyxosError
from pyxos.client.async_client import DEFAULT_ENDPOINT, TIMEOUT_S
from pyxos.client.errors import StaleToken
from pyxos.runtime.config import ConfigError

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3


def add_cluster_arguments(parser: argparse.ArgumentParser, *, timeout: bool = True) -> None:
    """`--config` / `--endpoints` (and `--timeout`): how a command finds the cluster."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--config", metavar="FILE", help="the cluster file: use every member's client address"
    )
    where.add_argument(
        "--endpoints",
        metavar="HOST:PORT,...",
        help=f"client addresses of some nodes (default {DEFAULT_ENDPOINT}, pyxos up's node 1)",
    )
    if timeout:
        parser.add_argument(
            "--timeout",
            type=float,
            default=TIMEOUT_S,
            metavar="SECONDS",
            help="give up after this long (default %(default)s)",
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    add_cluster_arguments(common)
    ops = parser.add_subparsers(dest="kv_command", metavar="OP", required=True)
    get = ops.add_parser("get", parents=[common], help="print a key's value")
    get.add_argument("key")
    get.add_argument(
        "--stale", action="store_true", help="read the node's state at once (may be behind)"
    )
    get.set_defaults(kv=_get)
    put = ops.add_parser("put", parents=[common], help="set a key")
    put.add_argument("key")
    put.add_argument("value", help="the value; - reads it from stdin")
    _add_fence_arguments(put)
    put.set_defaults(kv=_put)
    delete = ops.add_parser("del", parents=[common], help="delete a key")
    delete.add_argument("key")
    _add_fence_arguments(delete)
    delete.set_defaults(kv=_delete)
    cas = ops.add_parser(
        "cas", parents=[common], help="set a key only if it has the expected value"
    )
    cas.add_argument("key")
    cas.add_argument("value", help="the new value; - reads it from stdin")
    expected = cas.add_mutually_exclusive_group(required=True)
    expected.add_argument("--expected", metavar="OLD", help="the value the key must have")
    expected.add_argument("--absent", action="store_true", help="the key must be absent")
    cas.set_defaults(kv=_cas)
    listing = ops.add_parser("list", parents=[common], help="list the keys with a prefix")
    listing.add_argument("prefix", nargs="?", default="")
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
        epilog=(
            "exit status: 0 done; 1 key absent or cas mismatch; 2 usage error; "
            "3 the cluster did not answer (after a timeout a write may still be applied)"
        ),
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


def _out(data: bytes) -> None:
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.flush()


def _show(value: bytes | None) -> str:
    return "absent" if value is None else repr(value.decode(errors="backslashreplace"))


def _get(client: Client, args: argparse.Namespace) -> int:
    value = client.get(args.key, "stale" if args.stale else "linearizable")
    if value is None:
        print(f"pyxos kv get: key {args.key!r} not found", file=sys.stderr)
        return EXIT_NOT_FOUND
    _out(value)
    return EXIT_OK


def _put(client: Client, args: argparse.Namespace) -> int:
    fence = _fence(args)
    if fence is None:
        client.put(args.key, _value(args.value))
    else:
        try:
            client.put_fenced(args.key, _value(args.value), lock=fence[0], token=fence[1])
        except StaleToken as exc:
            return _stale("pyxos kv put", exc, fence[1])
    print("OK")
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
        print(f"pyxos kv del: key {args.key!r} not found", file=sys.stderr)
        return EXIT_NOT_FOUND
    print("OK")
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
    print("OK")
    return EXIT_OK


def _list(client: Client, args: argparse.Namespace) -> int:
    listing = client.scan(
        args.prefix,
        limit=args.limit,
        after=args.after,
        consistency="stale" if args.stale else "linearizable",
    )
    for key, value in listing.items:
        print(f"{key}\t{value.decode(errors='backslashreplace')}")
    if listing.truncated:
        more = f"pyxos kv list: more keys than --limit {args.limit}"
        if listing.next is not None:
            more += f"; the next page: --after {shlex.quote(listing.next)}"
        print(more, file=sys.stderr)
    return EXIT_OK


def run_with_client(name: str, args: argparse.Namespace, action: Callable[[Client], int]) -> int:
    """Build the client from `--config` / `--endpoints` / `--timeout`, run `action` with it,
    and turn every error into one line on stderr and an exit status."""
    try:
        with Client(
            args.endpoints,
            config=args.config,
            timeout_s=args.timeout,
            attempt_timeout_s=min(args.timeout, 5.5),
        ) as client:
            return action(client)
    except BadRequest as exc:  # and TooLarge
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PyxosError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except ConfigError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # a bad endpoint, a bad timeout
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        print("pyxos kv: error: --timeout must be positive", file=sys.stderr)
        return EXIT_USAGE
    action = args.kv
    return run_with_client(f"pyxos kv {args.kv_command}", args, lambda c: action(c, args))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxos kv", description="The key-value store.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
