"""`pyxos check ...`: check recorded runs for correctness.

`check` is a group: each kind of check is one subcommand, registered by a `_register_*`
function below (`history` today; e.g. `logs` can be added next to it the same way). This module
does the file I/O; the checking itself is the pure `pyxos.check` package.

Exit codes: 0 the check passed, 1 it failed (or was inconclusive), 2 the input could not be read
or is invalid (the message names the file and line).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pyxos.check import HistoryParseError, check_history, parse_jsonl

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
    print(result.render(), end="")
    return EXIT_OK if result.ok else EXIT_FAILED
