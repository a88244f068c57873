"""`pyxos chaos`: run a workload under a schedule of faults on a local cluster, then check it.

Prints progress, then the checks and one verdict line (`VERDICT: PASS` or `VERDICT: FAIL: ...`);
with `-o json`, the progress goes to stderr and stdout gets `summary.json`'s document. The
artifacts stay in `--out` (docs/chaos.md). Exit status 0 on PASS, 1 on FAIL, 2 for bad
options.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyxos.chaos.planted_bug import PLANTED_BUGS
from pyxos.chaos.run import ChaosOptions, run_chaos
from pyxos.chaos.schedule import STEP_KINDS
from pyxos.cli.output import add_output_argument, print_json
from pyxos.cli.protocol_args import add_protocol_arguments, default_quorums, protocol_options
from pyxos.core.protocols import DEFAULT_PROTOCOL
from pyxos.runtime.config import zone_node_ids, zone_of

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", type=float, default=300.0, metavar="SECONDS", help="run length (300)"
    )
    parser.add_argument("--seed", type=int, default=1, help="the schedule's seed (1)")
    parser.add_argument(
        "--out", default=None, metavar="DIR", help="artifacts folder (default: a new temp dir)"
    )
    parser.add_argument(
        "--faults",
        default=",".join(STEP_KINDS),
        metavar="KIND,...",
        help=f"fault kinds to schedule, each at least once (default: all: {','.join(STEP_KINDS)})",
    )
    parser.add_argument(
        "--nodes", type=int, default=None, help="cluster size (3, or 3 per zone with --zones)"
    )
    parser.add_argument(
        "--zones",
        type=int,
        default=None,
        metavar="Z",
        help=(
            'Z zones of consecutive nodes with "zone.node" ids; with --protocol wpaxos the '
            "quorums default to grid:fz=0,fn=1 (see pyxos up --help)"
        ),
    )
    add_protocol_arguments(parser)
    parser.set_defaults(quorums=None)  # None: not given (see `default_quorums`)
    parser.add_argument(
        "--thrifty", action="store_true", help="Paxi's thrifty phase 2 (see pyxos up --help)"
    )
    parser.add_argument("--workers", type=int, default=4, help="client workers (4)")
    parser.add_argument(
        "--rate", type=float, default=100.0, help="operations per second in all (100)"
    )
    parser.add_argument(
        "--serve-deadline",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="the cluster must commit a write this soon after each heal (5)",
    )
    parser.add_argument("--fault-min", type=float, default=3.0, help="shortest fault, s (3)")
    parser.add_argument("--fault-max", type=float, default=6.0, help="longest fault, s (6)")
    parser.add_argument(
        "--settle", type=float, default=4.0, help="quiet time before each fault, s (4)"
    )
    parser.add_argument(
        "--planted-bug",
        choices=PLANTED_BUGS,
        default=None,
        help="run a TEST BUILD of the nodes with this bug: the verdict must be FAIL",
    )
    add_output_argument(parser)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "chaos",
        help="run a workload under faults on a local cluster and check it",
        description=(
            "Start a temporary local cluster (3 nodes with majority quorums unless told), run a "
            "recorded workload under a seeded schedule of faults (crash, kill -9, drop, slow, "
            "flaky, partition, pause, crash loop), heal, and check linearizability, log "
            "agreement and that no acknowledged write is lost."
        ),
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def replay_command(args: argparse.Namespace) -> str:
    """The command that plays the same schedule again (the timing of a real cluster varies, so
    a replay reproduces the faults, not every interleaving)."""
    parts = [
        f"pyxos chaos --seed {args.seed} --duration {args.duration:g} --faults {args.faults}",
        f"--fault-min {args.fault_min:g} --fault-max {args.fault_max:g} --settle {args.settle:g}",
        f"--workers {args.workers} --rate {args.rate:g}",
    ]
    if args.nodes is not None:
        parts.append(f"--nodes {args.nodes}")
    if args.zones is not None:
        parts.append(f"--zones {args.zones}")
    if args.protocol != DEFAULT_PROTOCOL:
        parts.append(f"--protocol {args.protocol}")
    for name, value in args.protocol_option:
        parts.append(f"--protocol-option {name}={value}")
    if args.quorums is not None:
        parts.append(f"--quorums {args.quorums.describe()}")
    if args.thrifty:
        parts.append("--thrifty")
    if args.planted_bug:
        parts.append(f"--planted-bug {args.planted_bug}")
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    kinds = tuple(k.strip() for k in args.faults.split(",") if k.strip())
    bad = [k for k in kinds if k not in STEP_KINDS]
    if bad or not kinds:
        print(
            f"pyxos chaos: error: unknown fault kinds {bad}; choose from {', '.join(STEP_KINDS)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    nodes = args.nodes if args.nodes is not None else 3 * (args.zones or 1)
    if args.duration <= 0 or args.workers < 1 or args.rate <= 0 or nodes < 1:
        print(
            "pyxos chaos: error: duration, nodes, workers and rate must be positive",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        settings = protocol_options(args)
        quorums = default_quorums(args.protocol, nodes, args.zones, args.quorums)
        ids = zone_node_ids(nodes, args.zones) if args.zones else tuple(range(1, nodes + 1))
        zones = {z: tuple(m for m in ids if zone_of(m) == z) for z in {zone_of(m) for m in ids}}
        quorums.build(ids, zones if args.zones else None)
    except ValueError as exc:
        print(f"pyxos chaos: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not 0 < args.fault_min <= args.fault_max:
        print("pyxos chaos: error: need 0 < --fault-min <= --fault-max", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="pyxos-chaos-"))
    options = ChaosOptions(
        out=out,
        duration_s=args.duration,
        seed=args.seed,
        kinds=kinds,
        workers=args.workers,
        rate_per_s=args.rate,
        serve_deadline_s=args.serve_deadline,
        fault_s_min=args.fault_min,
        fault_s_max=args.fault_max,
        settle_s=args.settle,
        planted_bug=args.planted_bug,
        nodes=nodes,
        protocol=args.protocol,
        quorums=quorums,
        thrifty=args.thrifty,
        zones=args.zones,
        options=settings,
    )
    # With -o json, stdout carries the summary alone: the progress goes to stderr.
    progress = sys.stderr if args.output == "json" else sys.stdout
    print(
        f"pyxos chaos: seed {args.seed}, {args.duration:g} s, artifacts in {out}",
        file=progress,
        flush=True,
    )
    verdict = asyncio.run(
        run_chaos(options, echo=lambda line: print(line, file=progress, flush=True))
    )
    if args.output == "json":
        print_json(verdict.summary())
        return EXIT_PASS if verdict.ok else EXIT_FAIL
    print(verdict.render(), end="")
    print(f"artifacts: {out} (history.jsonl, timeline.jsonl, verdict.txt, cluster/)")
    if not verdict.ok:
        print(f"replay: {replay_command(args)}")
    return EXIT_PASS if verdict.ok else EXIT_FAIL


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxos chaos", description="Faults on a real cluster.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
