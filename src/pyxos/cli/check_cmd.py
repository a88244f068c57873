"""`pyxos check ...`: check recorded runs for correctness.

`check` is a group: each kind of check is one subcommand, registered by a `_register_*`
function below: `history` (a client history is linearizable; the checking itself is the pure
`pyxos.check` package) and `logs` (the nodes of a running cluster agree on every slot: GoPaxos'
`make diff`).

Exit codes: 0 the check passed, 1 it failed (or was inconclusive), 2 the input could not be read
or is invalid (the message names the file and line); `logs` also 3 when the cluster cannot be
found at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pyxos.check import HistoryParseError, check_history, parse_jsonl
from pyxos.check.logs import compare_logs, parse_log, render_comparison
from pyxos.cli.output import add_output_argument, print_json

if TYPE_CHECKING:
    from pyxos.client.admin import Member

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "check",
        help="check recorded runs for correctness (e.g. linearizability of a history)",
        description="Check recorded runs for correctness. Choose what to check below.",
    )

    def no_subcommand(args: argparse.Namespace) -> int:
        del args
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT

    parser.set_defaults(func=no_subcommand)
    checks = parser.add_subparsers(dest="check_command", metavar="WHAT")
    _register_history(checks)
    _register_logs(checks)


def _register_history(checks: Any) -> None:
    parser = checks.add_parser(
        "history",
        help="check a JSONL key-value history for linearizability",
        description=(
            "Check that a key-value client history is linearizable: that every operation can "
            "be placed at one instant within its invoke..complete interval so that the "
            "operations, run one at a time in that order, return what they returned. "
            "Operations with an unknown outcome (complete null) may take effect at any time "
            "after their invocation, or never. The format is one JSON object per operation "
            "per line; see docs/history-format.md."
        ),
        epilog=(
            "exit status: 0 linearizable; 1 not linearizable (the report lists a minimal "
            "counterexample) or the search was inconclusive; 2 the file is unreadable or "
            "invalid (the message names the line)."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="the JSONL history, or - for stdin")
    add_output_argument(parser)
    parser.add_argument(
        "--max-states",
        type=_positive_int,
        default=2_000_000,
        metavar="N",
        help=(
            "give up (inconclusive, exit 1) after exploring N search states for one key "
            "(default: %(default)s)"
        ),
    )
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def run(args: argparse.Namespace) -> int:
    """`pyxos check history FILE`."""
    name = "<stdin>" if args.file == "-" else args.file
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8") as handle:
                text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"pyxos check history: cannot read {name}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        ops = parse_jsonl(text)
    except HistoryParseError as exc:
        print(f"pyxos check history: {name}:{exc.line}: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    result = check_history(ops, max_states=args.max_states)
    if args.output == "json":
        print_json(
            {
                "ok": result.ok,
                "undecided": result.undecided,
                "operations": result.checked_ops,
                "keys": result.keys,
                "failing_key": result.failing_key,
                "report": result.render(),
            }
        )
    else:
        print(result.render(), end="")
    return EXIT_OK if result.ok else EXIT_FAILED


# ---- pyxos check logs -----------------------------------------------------------------------
def _per_object(members: Sequence[Member], timeout_s: float) -> bool:
    """Whether the cluster keeps a log per object, as the first node that answers says."""
    from pyxos.client.admin import http_get

    for member in members:
        try:
            code, body = http_get(member.http, "/log/objects", timeout_s=timeout_s)
        except OSError:
            continue
        if code == 200:
            return bool(json.loads(body).get("per_object"))
    return False


def _check_object_logs(members: Sequence[Member], args: argparse.Namespace) -> int:
    import aiohttp

    from pyxos.chaos.object_logs import check_object_logs

    async def check() -> tuple[bool, str]:
        async with aiohttp.ClientSession() as session:
            return await check_object_logs(
                session,
                {m.node: m.http for m in members},
                members=len(members),
                timeout_s=args.timeout,
            )

    ok, report = asyncio.run(check())
    if args.output == "json":
        print_json({"ok": ok, "per_object": True, "report": report})
    else:
        print(report, end="")
    return EXIT_OK if ok else EXIT_FAILED


LOG_PATH = "/log/print/dump"
EXIT_UNREACHABLE = 3


def _register_logs(checks: Any) -> None:
    # Imported here: `check history` must not pay for the client and its event loop.
    from pyxos.cli.kv_cmd import add_cluster_arguments

    parser = checks.add_parser(
        "logs",
        help="check that every node of a running cluster agrees on every slot",
        description=(
            "Fetch every node's committed log (HTTP /log/print/dump) and compare them slot by "
            "slot (GoPaxos' make diff): each slot must hold the same commands on a majority of "
            "the members, and no node may hold different ones. Under a protocol with a log per "
            "object (wpaxos) each object's log is compared on its own. Run it on a quiet "
            "cluster: a slot decided a moment ago may not be applied everywhere yet."
        ),
        epilog=(
            "exit status: 0 every slot agrees on a majority; 1 some slot differs between nodes "
            "or has no majority (each is listed); 2 usage error; 3 the cluster cannot be found."
        ),
    )
    add_cluster_arguments(parser)
    add_output_argument(parser)
    parser.add_argument(
        "--from", dest="first", type=_positive_int, default=1, help="first slot to compare (1)"
    )
    parser.set_defaults(func=run_logs)


def run_logs(args: argparse.Namespace) -> int:
    """`pyxos check logs`."""
    from pyxos.cli.status_cmd import resolve_members
    from pyxos.client.admin import http_get

    name = "pyxos check logs"
    members = resolve_members(name, args)
    if isinstance(members, int):
        return members
    if _per_object(members, args.timeout):
        return _check_object_logs(members, args)
    logs: dict[int, dict[int, str | None]] = {}
    missing: dict[int, str] = {}
    for member in members:
        path = f"{LOG_PATH}?from={args.first}"
        try:
            code, body = http_get(member.http, path, timeout_s=args.timeout)
            if code != 200:
                raise OSError(f"HTTP {code}: {body.decode(errors='replace').strip()[:200]}")
            logs[member.node] = parse_log(body.decode(errors="replace"))
        except (OSError, ValueError) as exc:
            # The others may still make a majority of every slot.
            missing[member.node] = str(exc)
            if args.output != "json":
                print(f"node {member.node} at {member.http}: not compared: {exc}")
    if not logs:
        print(f"{name}: error: no node answered", file=sys.stderr)
        return EXIT_UNREACHABLE
    result = compare_logs(logs, members=len(members), first=args.first)
    if args.output == "json":
        print_json(
            {
                "ok": result.ok,
                "members": result.members,
                "nodes": list(result.nodes),
                "not_compared": {str(node): why for node, why in missing.items()},
                "first": result.first,
                "last": result.last,
                "unheld": result.unheld,
                "problems": [
                    {
                        "slot": p.slot,
                        "kind": p.kind,
                        "held": {str(node): text for node, text in p.held.items()},
                    }
                    for p in result.problems
                ],
            }
        )
    else:
        print(render_comparison(result), end="")
    return EXIT_OK if result.ok else EXIT_FAILED
