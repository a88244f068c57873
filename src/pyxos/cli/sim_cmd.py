"""`pyxos sim`: run the deterministic simulator for one seed or a range of seeds.

    pyxos sim --seed 7 [--nodes 5 --ops 400 ...] [--transcript FILE] [--history FILE]
    pyxos sim --seeds 1..1000 [--min-coverage 5]
    pyxos sim --seeds 1..500 --nodes 5 --quorums flexible:q1=4,q2=2

One seed prints the options it expanded to, a result line, and on failure every violation, the
linearizability checker's counterexample and the command that replays the run. A range prints
one line per failing seed (with its replay command) and a summary: violations, coverage of each
counter, and the simulator's speed in simulated client operations and messages per CPU-second.
Exit status 1 on any violation, or when a coverage counter occurs in fewer than
`--min-coverage` percent of the seeds (checked from 100 seeds on). `-o json` prints one JSON
document instead: a seed's options, violations, coverage and statistics, or a sweep's totals.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyxos.check.history import dump_jsonl
from pyxos.cli.output import add_output_argument, print_json
from pyxos.cli.protocol_args import add_protocol_arguments, protocol_options
from pyxos.core.protocols import DEFAULT_PROTOCOL
from pyxos.core.quorum import MAJORITY, QuorumSpec
from pyxos.sim import SimResult, expand_options, fit_overrides, run_with_options
from pyxos.sim.options import FLOAT_OPTIONS, OPTION_NAMES, RANGES
from pyxos.sim.result import coverage_counters

COVERAGE_SEEDS_MIN = 100
"""Coverage percentages are enforced only for sweeps of at least this many seeds."""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "sim",
        help="run the deterministic simulator (one seed, or a sweep of seeds)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--seed", type=int, help="run this one seed")
    which.add_argument("--seeds", type=parse_seed_range, help="run a range of seeds, A..B")
    parser.add_argument("--transcript", type=Path, help="write the run's transcript here")
    parser.add_argument("--history", type=Path, help="write the client history (JSONL) here")
    parser.add_argument(
        "--min-coverage",
        type=float,
        default=5.0,
        help="fail a sweep of 100+ seeds if a coverage counter occurs in fewer percent of seeds",
    )
    add_protocol_arguments(parser)
    add_output_argument(parser)
    add_option_flags(parser)
    parser.set_defaults(func=run)


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """One `--option-name VALUE` flag per `SimOptions` field, overriding the seed's choice."""
    group = parser.add_argument_group("simulator options (default: drawn from the seed)")
    for name in OPTION_NAMES:
        low, high = RANGES[name]
        kind: type = float if name in FLOAT_OPTIONS else int
        group.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"opt_{name}",
            type=kind,
            default=None,
            metavar="N",
            help=f"seed range {kind(low)}..{kind(high)}",
        )


def overrides_from_args(args: argparse.Namespace) -> dict[str, int | float]:
    found: dict[str, int | float] = {}
    for name in OPTION_NAMES:
        value = getattr(args, f"opt_{name}", None)
        if value is not None:
            found[name] = value
    return found


def parse_seed_range(text: str) -> range:
    """`A..B` (inclusive) or a single seed `A`."""
    first, sep, last = text.partition("..")
    try:
        low = int(first)
        high = int(last) if sep else low
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A..B, got {text!r}") from None
    if high < low:
        raise argparse.ArgumentTypeError(f"empty seed range {text!r}")
    return range(low, high + 1)


def run(args: argparse.Namespace) -> int:
    try:
        setup = Setup(
            protocol=args.protocol,
            quorums=args.quorums,
            protocol_options=protocol_options(args),
        )
        overrides = fit_overrides(setup.protocol, overrides_from_args(args))
        as_json = args.output == "json"
        if args.seed is not None:
            return _run_one(
                args.seed, overrides, args.transcript, args.history, setup, as_json=as_json
            )
        if args.transcript is not None or args.history is not None:
            print("error: --transcript and --history need --seed", file=sys.stderr)
            return 2
        return _run_many(args.seeds, overrides, args.min_coverage, setup, as_json=as_json)
    except ValueError as exc:  # an invalid option value
        print(f"error: {exc}", file=sys.stderr)
        return 2


@dataclass(frozen=True)
class Setup:
    """What a run fixes besides its seed's options: the protocol and the quorums."""

    protocol: str = DEFAULT_PROTOCOL
    quorums: QuorumSpec = MAJORITY
    protocol_options: tuple[tuple[str, str], ...] = ()


def _run_one(
    seed: int,
    overrides: dict[str, int | float],
    transcript: Path | None,
    history: Path | None,
    setup: Setup,
    *,
    as_json: bool = False,
) -> int:
    started = time.process_time()
    options = expand_options(seed, **overrides)
    result = run_with_options(
        options,
        transcript=transcript is not None,
        protocol=setup.protocol,
        quorums=setup.quorums,
        protocol_options=setup.protocol_options,
    )
    cpu_s = time.process_time() - started
    if transcript is not None and result.transcript is not None:
        transcript.write_text("".join(line + "\n" for line in result.transcript))
    if history is not None:
        history.write_text(dump_jsonl(result.history))
    if as_json:
        print_json(
            {
                "seed": seed,
                "ok": result.ok,
                "options": {n: getattr(result.options, n) for n in OPTION_NAMES},
                "protocol": result.protocol,
                "quorums": result.quorums.describe(),
                "protocol_options": dict(result.protocol_options),
                "violations": result.violations,
                "counterexample": result.counterexample,
                "coverage": result.coverage,
                "stats": dataclasses.asdict(result.stats),
                "cpu_s": round(cpu_s, 3),
                "replay": None if result.ok else result.replay,
            }
        )
        return 0 if result.ok else 1
    print(f"seed {seed}: options {result.options.describe()}")
    status = "ok" if result.ok else "FAILED"
    print(
        f"seed {seed}: {status} {result.stats.describe()} coverage "
        f"{_flags(result.coverage)} violations {len(result.violations)} (cpu {cpu_s:.2f}s)"
    )
    if result.ok:
        return 0
    for violation in result.violations:
        print(f"  violation: {violation}")
    if result.counterexample is not None:
        print(result.counterexample.rstrip())
    print(f"replay: {result.replay}")
    return 1


def _flags(coverage: dict[str, bool]) -> str:
    return " ".join(f"{name}={'yes' if hit else 'no'}" for name, hit in coverage.items())


@dataclass
class Sweep:
    """Totals of a run of many seeds."""

    seeds: int = 0
    violations: int = 0
    failing: list[SimResult] = field(default_factory=list)
    coverage: dict[str, int] = field(default_factory=dict)
    ops: int = 0
    messages: int = 0
    cpu_s: float = 0.0

    def add(self, result: SimResult) -> None:
        self.seeds += 1
        self.violations += len(result.violations)
        if not result.ok:
            self.failing.append(result)
        for name, hit in result.coverage.items():
            self.coverage[name] = self.coverage.get(name, 0) + hit
        self.ops += result.stats.ops_completed
        self.messages += result.stats.messages_delivered

    def coverage_percent(self) -> dict[str, float]:
        return {n: 100.0 * c / max(1, self.seeds) for n, c in self.coverage.items()}

    def speed_figures(self) -> dict[str, float]:
        """The simulator's speed as numbers (what `speed` says in words)."""
        cpu_s = max(self.cpu_s, 1e-9)
        return {
            "ops_per_cpu_s": round(self.ops / cpu_s, 1),
            "messages_per_cpu_s": round(self.messages / cpu_s, 1),
            "cpu_s": round(self.cpu_s, 3),
            "cpu_s_per_seed": round(self.cpu_s / max(1, self.seeds), 4),
        }

    def speed(self) -> str:
        cpu_s = max(self.cpu_s, 1e-9)
        return (
            f"{self.ops / cpu_s:,.0f} simulated client ops per CPU-second, "
            f"{self.messages / cpu_s:,.0f} messages per CPU-second "
            f"({self.seeds} seeds in {self.cpu_s:.1f} CPU-seconds, "
            f"{self.cpu_s / max(1, self.seeds):.3f}s per seed)"
        )


def sweep(
    seeds: range,
    overrides: dict[str, int | float],
    *,
    report: bool = True,
    setup: Setup | None = None,
) -> Sweep:
    """Run every seed; with `report`, print a line for each failing seed as it fails."""
    totals = Sweep()
    setup = setup if setup is not None else Setup()
    for seed in seeds:
        started = time.process_time()
        result = run_with_options(
            expand_options(seed, **overrides),
            protocol=setup.protocol,
            quorums=setup.quorums,
            protocol_options=setup.protocol_options,
        )
        totals.cpu_s += time.process_time() - started
        totals.add(result)
        if report and not result.ok:
            first = result.violations[0].splitlines()[0]
            print(
                f"seed {seed}: FAILED {len(result.violations)} violations, first: {first}; "
                f"replay: {result.replay}",
                flush=True,
            )
    return totals


def _run_many(
    seeds: range,
    overrides: dict[str, int | float],
    min_coverage: float,
    setup: Setup,
    *,
    as_json: bool = False,
) -> int:
    totals = sweep(seeds, overrides, setup=setup, report=not as_json)
    percent = {name: 0.0 for name in coverage_counters(setup.protocol)}
    percent.update(totals.coverage_percent())
    low = []
    if totals.seeds >= COVERAGE_SEEDS_MIN:
        low = [name for name, value in percent.items() if value < min_coverage]
    if as_json:
        print_json(
            {
                "seeds": f"{seeds.start}..{seeds.stop - 1}",
                "runs": totals.seeds,
                "violations": totals.violations,
                "failing": [
                    {"seed": r.seed, "first": r.violations[0].splitlines()[0], "replay": r.replay}
                    for r in totals.failing
                ],
                "coverage_percent": {n: round(v, 1) for n, v in percent.items()},
                "coverage_below_min": low,
                "speed": totals.speed_figures(),
            }
        )
        return 1 if totals.failing or low else 0
    print(
        f"seeds {seeds.start}..{seeds.stop - 1}: {totals.seeds} runs, {totals.violations} "
        f"violations, {len(totals.failing)} failing seeds"
    )
    print("coverage: " + ", ".join(f"{name} {value:.1f}%" for name, value in percent.items()))
    print(f"speed: {totals.speed()}")
    if low:
        print(f"coverage below {min_coverage:g}%: {', '.join(low)}")
    return 1 if totals.failing or low else 0
