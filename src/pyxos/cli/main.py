"""`pyxos`: one entry point, one module per subcommand.

Each subcommand module exposes `register(subparsers)`, which adds its parser and sets
`func(args) -> int` as the handler.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pyxos import __version__
from pyxos.cli import (
    bench_cmd,
    chaos_cmd,
    check_cmd,
    completion_cmd,
    coord_cmd,
    demo_cmd,
    fault_cmd,
    kv_cmd,
    lock_cmd,
    log_cmd,
    node_cmd,
    shell_cmd,
    sim_cmd,
    status_cmd,
    up_cmd,
    wal_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyxos",
        description="Multi-Paxos consensus: a replicated key-value store, its simulator and tools.",
    )
    parser.add_argument("--version", action="version", version=f"pyxos {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (
        up_cmd,
        node_cmd,
        kv_cmd,
        lock_cmd,
        coord_cmd,
        status_cmd,
        log_cmd,
        shell_cmd,
        demo_cmd,
        sim_cmd,
        check_cmd,
        bench_cmd,
        fault_cmd,
        chaos_cmd,
        wal_cmd,
        completion_cmd,
    ):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    result: int = func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
