"""`pyxos lock get|whose|refresh|wait|release`: leases from the command line.

Through the Python client (`Client.lock_*`). Each command prints the lease as one JSON line,
`{"lock", "holder", "token", "expires_ms", "remaining_ms"}`: `token` is the fencing token for
writes to what the lock protects (`PUT /v1/kv/{key}?lock=NAME&token=T`, `Client.put_fenced`).

Exit status: 0 done; 1 the lock is held by another (`get`, and `wait` at its timeout) or the
owner and token are not the current grant (`refresh`, `release`); 2 a usage error; 3 the
cluster did not answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pyxos.cli.kv_cmd import EXIT_NOT_FOUND, EXIT_OK, add_cluster_arguments, run_with_client
from pyxos.client import Client, HeldByYou, LockHeld, NotHolder
from pyxos.client.coordination import LeaseInfo


def _print(lease: LeaseInfo) -> None:
    print(
        json.dumps(
            {
                "lock": lease.lock,
                "holder": lease.holder,
                "token": lease.token,
                "expires_ms": lease.expires_ms,
                "remaining_ms": lease.remaining_ms,
            }
        )
    )


def _get(client: Client, args: argparse.Namespace) -> LeaseInfo:
    return client.lock_get(args.name, args.owner, args.ttl)


def _wait(client: Client, args: argparse.Namespace) -> LeaseInfo:
    return client.lock_wait(args.name, args.owner, args.ttl, timeout_s=args.wait_timeout)


def _whose(client: Client, args: argparse.Namespace) -> LeaseInfo:
    return client.lock_whose(args.name, "stale" if args.stale else "linearizable")


def _refresh(client: Client, args: argparse.Namespace) -> LeaseInfo:
    return client.lock_refresh(args.name, args.owner, args.token, args.ttl)


def _release(client: Client, args: argparse.Namespace) -> LeaseInfo:
    return client.lock_release(args.name, args.owner, args.token)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "lock",
        help="acquire, inspect, refresh, wait for and release leases",
        description="Leases on named locks, each grant with a fencing token.",
        epilog=(
            "exit status: 0 done; 1 held by another, or not the holder; 2 usage error; "
            "3 the cluster did not answer"
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    add_cluster_arguments(common)
    common.add_argument("name", help="the lock")
    owner = argparse.ArgumentParser(add_help=False)
    owner.add_argument("--owner", required=True, help="who holds (or asks for) the lease")
    ttl = argparse.ArgumentParser(add_help=False)
    ttl.add_argument("--ttl", type=float, default=10.0, help="lease seconds (default 10)")
    token = argparse.ArgumentParser(add_help=False)
    token.add_argument("--token", type=int, required=True, help="the grant's fencing token")
    ops = parser.add_subparsers(dest="lock_command", metavar="OP", required=True)
    ops.add_parser(
        "get", parents=[common, owner, ttl], help="acquire now or fail (leaseGet)"
    ).set_defaults(lock=_get)
    wait = ops.add_parser(
        "wait", parents=[common, owner, ttl], help="wait in line for the lock (leaseWait)"
    )
    wait.add_argument(
        "--wait-timeout", type=float, default=30.0, help="give up after this many seconds (30)"
    )
    wait.set_defaults(lock=_wait)
    whose = ops.add_parser("whose", parents=[common], help="who holds the lock (leaseWhose)")
    whose.add_argument("--stale", action="store_true", help="read the node's state at once")
    whose.set_defaults(lock=_whose)
    ops.add_parser(
        "refresh", parents=[common, owner, ttl, token], help="extend the lease (leaseRefresh)"
    ).set_defaults(lock=_refresh)
    ops.add_parser(
        "release", parents=[common, owner, token], help="release the lease (leaseRelease)"
    ).set_defaults(lock=_release)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    name = f"pyxos lock {args.lock_command}"

    def action(client: Client) -> int:
        try:
            _print(args.lock(client, args))
        except (LockHeld, HeldByYou, NotHolder) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            _print(exc.lease)
            return EXIT_NOT_FOUND
        return EXIT_OK

    return run_with_client(name, args, action)
