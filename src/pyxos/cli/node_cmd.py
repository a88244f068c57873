"""`pyxos node --config cluster.toml --id ID`: run one node of a cluster.

The cluster file is TOML (`*.toml`) or a plain host file (one `host[:port]` per line); see
docs/running.md. Also runnable as `python -m pyxos.cli.node_cmd ...`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from pyxos.runtime.config import ConfigError, load_config
from pyxos.service.process import configure_logging, rebuild_refusal, run_node
from pyxos.storage import StorageError
from pyxos.storage.writable import NotWritable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        required=True,
        help="the cluster file (TOML, or a host file: host[:port] a line)",
    )
    parser.add_argument(
        "--id",
        required=True,
        help="this node's id in the cluster file (an integer, or zone.node such as 1.2)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help=(
            "the node's log is damaged: move its data directory aside, start it empty, and let "
            "it rejoin (it votes again only once that is safe) and catch up from its peers"
        ),
    )


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "node",
        help="run one node of a cluster",
        description="Run one pyxos node: its peer transport, its HTTP API and its log on disk.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        node_id = config.resolve(args.id)
    except ConfigError as exc:
        print(f"pyxos node: error: {exc}", file=sys.stderr)
        return 2
    if args.rebuild:
        refusal = rebuild_refusal(config, node_id)
        if refusal is not None:
            print(f"pyxos node: error: {refusal}", file=sys.stderr)
            print(
                "nothing was moved: start the node without --rebuild if its log is readable, "
                'or run the cluster with protocol = "multipaxos", which can rebuild a node',
                file=sys.stderr,
            )
            return 2
    configure_logging(node_id, args.log_level)
    try:
        return run_node(config, node_id, rebuild=args.rebuild)
    except NotWritable as exc:  # an access problem: the log may be healthy, do not rebuild
        print(f"pyxos node {args.id}: {exc}", file=sys.stderr)
        print(
            "give this user write access to it (check its owner, its permissions, and that "
            "its file system is not mounted read-only), then start the node again; do not use "
            "--rebuild, which would set its log aside",
            file=sys.stderr,
        )
        return 1
    except StorageError as exc:  # a damaged log or a data directory in use: never start
        print(f"pyxos node {args.id}: storage error: {exc}", file=sys.stderr)
        print(
            f"to rebuild this node from its peers: pyxos node --config {args.config} "
            f"--id {args.id} --rebuild",
            file=sys.stderr,
        )
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxos node", description="Run one pyxos node.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
