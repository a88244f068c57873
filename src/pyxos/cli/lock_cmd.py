"""`pyxos lock get|whose|refresh|wait|release`: leases from the command line.

Through the Python client (`Client.lock_*`). Each command prints the lock as it is after the
command, in the plain format of every command (`pyxos.cli.output`): a held lock as
`lock=NAME holder=OWNER token=T expires_in=S` (and `waiting=N` when others wait), a free one
as `lock=NAME free`, after `OK` for the commands that change it (`get`, `wait`, `refresh`,
`release`). `token` is the fencing token for writes to what the lock protects
(`pyxos kv put KEY VALUE --lock NAME --token T`, `Client.put_fenced`). With `-o json`:
`{"lock", "holder", "token", "expires_ms", "remaining_ms", "waiting"}`, also when the command
fails (the lock as it is).

Exit status: 0 done; 1 the lock is held by another (`get`, and `wait` at its timeout) or the
owner and token are not the current grant (`refresh`, `release`); 2 a usage error; 3 the
cluster did not answer.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pyxos.cli.kv_cmd import EXIT_NOT_FOUND, EXIT_OK, add_cluster_arguments, run_with_client
from pyxos.cli.output import add_output_argument, print_json, words
from pyxos.client import Client, HeldByYou, LockHeld, NotHolder
from pyxos.client.coordination import LeaseInfo

EPILOG = (
    "exit status: 0 done; 1 held by another, or not the holder (nothing changed); "
    "2 usage error; 3 the cluster did not answer"
)


def lease_words(lease: LeaseInfo) -> str:
    """The lock in the plain format: `lock=db holder=alice token=7 expires_in=29.5s`."""
    if lease.holder is None:
        return f"{words({'lock': lease.lock})} free"
    fields: dict[str, object] = {"lock": lease.lock, "holder": lease.holder}
    if lease.token is not None:
        fields["token"] = lease.token
    if lease.remaining_ms is not None:
        fields["expires_in"] = f"{lease.remaining_ms / 1000:g}s"
    if lease.waiting:
        fields["waiting"] = lease.waiting
    return words(fields)


def _print(lease: LeaseInfo, args: argparse.Namespace, *, changed: bool) -> None:
    if args.output == "json":
        print_json(
            {
                "lock": lease.lock,
                "holder": lease.holder,
                "token": lease.token,
                "expires_ms": lease.expires_ms,
                "remaining_ms": lease.remaining_ms,
                "waiting": lease.waiting,
            }
        )
    else:
        print(("OK " if changed else "") + lease_words(lease))


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
        epilog=EPILOG,
    )
    common = argparse.ArgumentParser(add_help=False)
    add_cluster_arguments(common)
    add_output_argument(common)
    common.add_argument("name", help="the lock's name (UTF-8 text, at most 1 KiB)")
    owner = argparse.ArgumentParser(add_help=False)
    owner.add_argument("--owner", required=True, help="who holds (or asks for) the lease")
    ttl = argparse.ArgumentParser(add_help=False)
    ttl.add_argument("--ttl", type=float, default=10.0, help="lease seconds (default 10)")
    token = argparse.ArgumentParser(add_help=False)
    token.add_argument("--token", type=int, required=True, help="the grant's fencing token")
    ops = parser.add_subparsers(dest="lock_command", metavar="OP", required=True)

    def op(name: str, help_text: str, parents: list[argparse.ArgumentParser]) -> Any:
        return ops.add_parser(
            name, parents=parents, help=help_text, description=help_text + ".", epilog=EPILOG
        )

    op("get", "acquire now or fail (leaseGet)", [common, owner, ttl]).set_defaults(lock=_get)
    wait = op("wait", "wait in line for the lock (leaseWait)", [common, owner, ttl])
    wait.add_argument(
        "--wait-timeout", type=float, default=30.0, help="give up after this many seconds (30)"
    )
    wait.set_defaults(lock=_wait)
    whose = op("whose", "who holds the lock (leaseWhose)", [common])
    whose.add_argument("--stale", action="store_true", help="read the node's state at once")
    whose.set_defaults(lock=_whose)
    op("refresh", "extend the lease (leaseRefresh)", [common, owner, ttl, token]).set_defaults(
        lock=_refresh
    )
    op("release", "release the lease (leaseRelease)", [common, owner, token]).set_defaults(
        lock=_release
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    name = f"pyxos lock {args.lock_command}"
    changes = args.lock_command != "whose"

    def action(client: Client) -> int:
        try:
            _print(args.lock(client, args), args, changed=changes)
        except (LockHeld, HeldByYou, NotHolder) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            if args.output == "json":
                _print(exc.lease, args, changed=False)
            return EXIT_NOT_FOUND
        return EXIT_OK

    return run_with_client(name, args, action)
