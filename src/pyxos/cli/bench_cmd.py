"""`pyxos bench`: measurements, the figures docs/BENCHMARKS.md quotes.

    pyxos bench sim [--seeds 1..100]
    pyxos bench storage [--dir DIR] [--restart-records N]

`sim` prints simulated client operations and messages per CPU-second (`time.process_time`) over
a sweep of seeds with their default options. `storage` measures the disk's raw fsync rate, the
write-ahead log's group-commit throughput beside it, and restart time (`pyxos.storage.bench`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pyxos.cli.sim_cmd import parse_seed_range, sweep


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "bench", help="benchmarks: simulator speed (`sim`), write-ahead log (`storage`)"
    )
    kinds = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    sim = kinds.add_parser("sim", help="the deterministic simulator's speed")
    sim.add_argument(
        "--seeds",
        type=parse_seed_range,
        default=range(1, 101),
        help="seeds to run, A..B (default 1..100)",
    )
    sim.set_defaults(func=run_sim)
    storage = kinds.add_parser(
        "storage", help="fsync rate, group-commit throughput and restart time of the WAL"
    )
    storage.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="directory on the disk to measure (default: a temp dir)",
    )
    storage.add_argument(
        "--restart-records",
        type=int,
        default=1_000_000,
        help="records in the log whose restart time is measured (default 1000000)",
    )
    storage.set_defaults(func=run_storage)


def run_sim(args: argparse.Namespace) -> int:
    seeds: range = args.seeds
    totals = sweep(seeds, {}, report=False)
    print(f"pyxos bench sim --seeds {seeds.start}..{seeds.stop - 1}")
    print(f"simulator speed: {totals.speed()}")
    if totals.failing:
        print(f"note: {len(totals.failing)} seeds had violations (run `pyxos sim` on them)")
        return 1
    return 0


def run_storage(args: argparse.Namespace) -> int:
    from pyxos.storage.bench import bench_storage, format_storage_bench

    if args.restart_records < 1:
        print("error: --restart-records must be positive")
        return 2
    result = bench_storage(args.dir, restart_records=args.restart_records)
    print(f"pyxos bench storage --restart-records {args.restart_records}")
    print(format_storage_bench(result))
    return 0
