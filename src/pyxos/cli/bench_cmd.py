"""`pyxos bench`: measurements. `pyxos bench sim` measures the simulator's own speed.

    pyxos bench sim [--seeds 1..100]

prints simulated client operations and messages per CPU-second (`time.process_time`), the
figures docs/BENCHMARKS.md quotes, over a sweep of seeds with their default options.
"""

from __future__ import annotations

import argparse
from typing import Any

from pyxos.cli.sim_cmd import parse_seed_range, sweep


def register(sub: Any) -> None:
    parser = sub.add_parser("bench", help="benchmarks (`pyxos bench sim`: simulator speed)")
    kinds = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    sim = kinds.add_parser("sim", help="the deterministic simulator's speed")
    sim.add_argument(
        "--seeds",
        type=parse_seed_range,
        default=range(1, 101),
        help="seeds to run, A..B (default 1..100)",
    )
    sim.set_defaults(func=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    seeds: range = args.seeds
    totals = sweep(seeds, {}, report=False)
    print(f"pyxos bench sim --seeds {seeds.start}..{seeds.stop - 1}")
    print(f"simulator speed: {totals.speed()}")
    if totals.failing:
        print(f"note: {len(totals.failing)} seeds had violations (run `pyxos sim` on them)")
        return 1
    return 0
