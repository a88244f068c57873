"""`pyxos bench`: measurements, the figures docs/BENCHMARKS.md quotes.

    pyxos bench run [-T S] [-N OPS] [-K KEYS] [-W RATIO] [--concurrency C] [--protocol fast|http]
                    [--distribution D ...] [--load] [--cluster | --endpoints ... | --config F]
    pyxos bench matrix [--cluster] [-T S]
    pyxos bench sim [--seeds 1..100]
    pyxos bench wan [--protocol P] [--workload W] [--leader-zone SITE] [--zone-loss-at-s S]
    pyxos bench storage [--dir DIR] [--restart-records N]

`run` drives a real cluster with Paxi's workload knobs, prints the latency figures, errors and
the linearizability verdict of its history (`-o json`: report.json's document, the progress on
stderr), and leaves report.json, history.jsonl and latency.png in `--out`. Without `--cluster`,
`--config` or endpoints, the cluster is found as every command finds it
(`pyxos.cli.cluster_args`). `matrix` runs the `make bench` grid ({fast, http} x {writes,
linearizable reads} x {1, 16, 64} clients) and prints it as a markdown table. `--cluster` starts
a temporary 3-node cluster (fsync on, as always) for the run and stops it afterwards.

`run`, `matrix` and `peers` need the packages of pyxos's `bench` extra (`pip install
'pyxos[bench]'`: hdrhistogram, rich, matplotlib); without them they say so and which are
missing, and exit 2. `sim` and `storage` need nothing more.

`wan` runs a protocol on a simulated wide-area network, deterministic from `--seed`, and prints
latency per zone in virtual time (`pyxos.cli.bench_wan_cmd`). `sim` prints simulated client
operations and messages per CPU-second (`time.process_time`) over
a sweep of seeds with their default options. `storage` measures the disk's raw fsync rate, the
write-ahead log's group-commit throughput beside it, and restart time (`pyxos.bench.storage`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from pyxos.bench.peers.command import add_parser as add_peers_parser
from pyxos.cli import bench_wan_cmd, up_cmd
from pyxos.cli.cluster_args import cluster_target
from pyxos.cli.output import add_output_argument, print_json
from pyxos.cli.sim_cmd import parse_seed_range
from pyxos.client.admin import find_members
from pyxos.client.endpoints import reachable
from pyxos.client.errors import PyxosError
from pyxos.runtime.config import ClusterConfig, ConfigError, load_config
from pyxos.runtime.ports import free_ports

BENCH_EXTRA = {"hdrh": "hdrhistogram", "rich": "rich", "matplotlib": "matplotlib"}
"""The modules `run`, `matrix` and `peers` import, and the packages of the `bench` extra that
bring them."""
EXIT_USAGE = 2
LEADER_DEADLINE_S = 30.0
DEFAULT_HTTP = "127.0.0.1:8000,127.0.0.1:8001,127.0.0.1:8002"
DEFAULT_FAST = "127.0.0.1:9000,127.0.0.1:9001,127.0.0.1:9002"


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "bench",
        help="benchmarks: a real cluster (`run`, `matrix`), the simulator, the write-ahead log",
    )
    kinds = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    run = kinds.add_parser(
        "run",
        help="drive a cluster with a workload; latency, throughput and a linearizability check",
        description=(
            "Drive a pyxos cluster with Paxi's workload knobs: closed loop (each of --concurrency "
            "clients sends its next operation when the previous one answers) or open loop "
            "(--open-loop: operations at --throttle per second). Prints mean, median, min, max, "
            "p95, p99 and p99.9 latency, throughput and errors by type; records the history and "
            "checks it for linearizability; writes report.json, history.jsonl and latency.png "
            "to --out."
        ),
    )
    _add_workload_arguments(run)
    _add_target_arguments(run)
    add_output_argument(run)
    run.set_defaults(func=needs_bench_extra("pyxos bench run", run_run))
    matrix = kinds.add_parser(
        "matrix",
        help="the `make bench` grid: {fast, http} x {writes, reads} x {1, 16, 64} clients",
        description=(
            "Writes and linearizable reads at 1, 16 and 64 closed-loop clients through the fast "
            "protocol and HTTP, 1,000 keys, 100-byte values; prints a markdown table of "
            "throughput and p50 / p99 latency."
        ),
    )
    _add_matrix_arguments(matrix)
    _add_target_arguments(matrix)
    add_output_argument(matrix, ("table", "json"), default="table")
    matrix.set_defaults(func=needs_bench_extra("pyxos bench matrix", run_matrix))
    sim = kinds.add_parser("sim", help="the deterministic simulator's speed")
    sim.add_argument(
        "--seeds",
        type=parse_seed_range,
        default=range(1, 101),
        help="seeds to run, A..B (default 1..100)",
    )
    add_output_argument(sim)
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
    add_output_argument(storage)
    storage.set_defaults(func=run_storage)
    bench_wan_cmd.add_parser(kinds)
    add_peers_parser(kinds)
    peers = kinds.choices["peers"]
    peers.set_defaults(func=needs_bench_extra("pyxos bench peers", peers.get_default("func")))


def missing_bench_extra() -> list[str]:
    """The packages of the `bench` extra whose modules cannot be imported here."""
    missing = []
    for module, package in BENCH_EXTRA.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


def needs_bench_extra(
    name: str, handler: Callable[[argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    """`handler`, run only when the `bench` extra is installed; else a message that says
    what to install, and exit status 2."""

    def run(args: argparse.Namespace) -> int:
        missing = missing_bench_extra()
        if missing:
            print(
                f"{name}: error: this needs pyxos's bench extra; missing here: "
                f"{', '.join(missing)}. Install it with: pip install 'pyxos[bench]'",
                file=sys.stderr,
            )
            return EXIT_USAGE
        return handler(args)

    return run


# ---- arguments ----------------------------------------------------------------------------
def _add_workload_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("workload (Paxi's knobs)")
    g.add_argument(
        "-T", "--duration", type=float, default=10.0, metavar="S", help="seconds to run (10)"
    )
    g.add_argument(
        "-N", "--operations", type=int, default=0, metavar="OPS", help="stop after N ops (no limit)"
    )
    g.add_argument(
        "-K", "--keys", type=int, default=1000, metavar="K", help="key space: keys 0..K-1 (1000)"
    )
    g.add_argument(
        "-W",
        "--write-ratio",
        type=float,
        default=0.5,
        metavar="RATIO",
        help="fraction of writes (0.5)",
    )
    g.add_argument(
        "--concurrency",
        "--clients",
        type=int,
        default=1,
        metavar="C",
        help="closed-loop clients; with --open-loop, the most operations in flight (1)",
    )
    g.add_argument(
        "--throttle",
        type=float,
        default=0.0,
        metavar="RATE",
        help="operations/s in all (0: no limit)",
    )
    g.add_argument(
        "--open-loop",
        action="store_true",
        help="send at --throttle per second whatever the answers; latency from each due time",
    )
    g.add_argument(
        "--distribution",
        choices=["uniform", "order", "conflict", "normal", "zipfian", "exponential"],
        default="uniform",
        help="which keys are touched (uniform)",
    )
    g.add_argument(
        "-c",
        "--conflicts",
        type=int,
        default=100,
        metavar="PERCENT",
        help="conflict: percent of operations on the shared key 0 (100)",
    )
    g.add_argument("--mu", type=float, default=0.0, help="normal: mean key (0)")
    g.add_argument("--sigma", type=float, default=60.0, help="normal: standard deviation (60)")
    g.add_argument("--move", action="store_true", help="normal: the mean moves up one key...")
    g.add_argument(
        "--speed", type=int, default=500, metavar="MS", help="... every MS milliseconds (500)"
    )
    g.add_argument("--zipf-s", type=float, default=2.0, help="zipfian: exponent s > 1 (2)")
    g.add_argument("--zipf-v", type=float, default=1.0, help="zipfian: offset v >= 1 (1)")
    g.add_argument(
        "--lambda",
        dest="lambda_",
        type=float,
        default=0.01,
        metavar="L",
        help="exponential: rate (0.01)",
    )
    g.add_argument("--load", action="store_true", help="write every key once before the run")
    g.add_argument(
        "--value-size", type=int, default=100, metavar="BYTES", help="bytes per value (100)"
    )
    g.add_argument(
        "--protocol",
        choices=["fast", "http"],
        default="fast",
        help="the fast client protocol, or HTTP /v1/kv spread over every node (fast)",
    )
    g.add_argument(
        "--consistency",
        choices=["linearizable", "stale"],
        default="linearizable",
        help="reads (linearizable; stale reads may fail the check: they are allowed to be stale)",
    )
    g.add_argument(
        "--warmup", type=float, default=0.0, metavar="S", help="seconds left out of the figures (0)"
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds before an op's outcome is unknown (5)",
    )
    g.add_argument("--seed", type=int, default=1, help="seeds the key and operation choices")
    _add_check_arguments(p)


def _add_matrix_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("grid")
    g.add_argument(
        "-T",
        "--duration",
        type=float,
        default=3.0,
        help="seconds per point, the warm-up included (3)",
    )
    g.add_argument(
        "--warmup", type=float, default=1.0, help="seconds before each point's figures (1)"
    )
    g.add_argument("-K", "--keys", type=int, default=1000, help="key space (1000)")
    g.add_argument(
        "--value-size", type=int, default=100, metavar="BYTES", help="bytes per value (100)"
    )
    g.add_argument("--protocols", default="fast,http", help="comma-separated: fast, http (both)")
    g.add_argument(
        "--workloads", default="writes,reads", help="comma-separated: writes, reads (both)"
    )
    g.add_argument(
        "--client-counts", default="1,16,64", help="comma-separated client counts (1,16,64)"
    )
    g.add_argument("--timeout", type=float, default=5.0, help="seconds per operation (5)")
    _add_check_arguments(p)


def _add_check_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("history and report")
    g.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="do not check the history for linearizability",
    )
    g.add_argument(
        "--max-states",
        type=int,
        default=2_000_000,
        help="the checker's search budget per key (2000000)",
    )
    g.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory for report.json, history.jsonl, latency.png "
        "(default: a new directory in the temp dir, printed at the end)",
    )
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def _add_target_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cluster")
    where = g.add_mutually_exclusive_group()
    where.add_argument(
        "--cluster",
        action="store_true",
        help="start a temporary 3-node cluster (fsync on) in a temp dir; stop it afterwards",
    )
    where.add_argument("--config", type=Path, default=None, help="the cluster file to drive")
    g.add_argument(
        "--endpoints",
        default=None,
        help=f"fast protocol addresses (default {DEFAULT_FAST}, `pyxos up`'s)",
    )
    g.add_argument(
        "--http-endpoints",
        default=None,
        help=f"HTTP addresses; clients are spread over them (default {DEFAULT_HTTP})",
    )
    g.add_argument(
        "--connections",
        type=int,
        default=1,
        metavar="N",
        help="fast protocol: client connections the workers share (1)",
    )


# ---- handlers -----------------------------------------------------------------------------
def run_run(args: argparse.Namespace) -> int:
    from pyxos.bench.options import BenchOptions, OptionsError
    from pyxos.bench.report import render, to_json
    from pyxos.bench.run import run_bench, run_sync

    try:
        options = BenchOptions(
            duration_s=args.duration,
            operations=args.operations,
            keys=args.keys,
            write_ratio=args.write_ratio,
            concurrency=args.concurrency,
            throttle=args.throttle,
            open_loop=args.open_loop,
            distribution=args.distribution,
            conflicts=args.conflicts,
            mu=args.mu,
            sigma=args.sigma,
            move=args.move,
            speed_ms=args.speed,
            zipf_s=args.zipf_s,
            zipf_v=args.zipf_v,
            lambda_=args.lambda_,
            load=args.load,
            value_bytes=args.value_size,
            protocol=args.protocol,
            consistency=args.consistency,
            warmup_s=args.warmup,
            timeout_s=args.timeout,
            check=args.check,
            max_states=args.max_states,
            seed=args.seed,
        ).validate()
    except OptionsError as exc:
        print(f"pyxos bench run: error: {exc}", file=sys.stderr)
        return 2
    out = args.out or _default_out()
    # With -o json, stdout carries the report alone: what is said on the way goes to stderr.
    say = print if args.output != "json" else _say_on_stderr
    try:
        with _target(args, say) as (http, fast):
            endpoints = http if options.protocol == "http" else fast
            say(f"pyxos bench run: {options.protocol} to {','.join(endpoints)}")
            report = run_sync(
                run_bench(
                    options,
                    endpoints,
                    connections=args.connections,
                    out_dir=out,
                    progress=args.progress,
                    say=say,
                )
            )
    except (ConfigError, PyxosError, RuntimeError, TimeoutError, ValueError) as exc:
        print(f"pyxos bench run: error: {exc}", file=sys.stderr)
        return 1
    if args.output == "json":
        sys.stdout.buffer.write(to_json(report))
        sys.stdout.flush()
    else:
        print(render(report))
        print(f"files      {out}/report.json, history.jsonl, latency.png")
    return 0 if report.passed else 1


def _say_on_stderr(text: str) -> None:
    print(text, file=sys.stderr)


def run_matrix(args: argparse.Namespace) -> int:
    from pyxos.bench.matrix import markdown_table, matrix_points
    from pyxos.bench.matrix import run_matrix as run_grid
    from pyxos.bench.options import BenchOptions, OptionsError
    from pyxos.bench.run import run_sync

    try:
        points = matrix_points(
            _choices(args.protocols, ("fast", "http"), "--protocols"),
            _choices(args.workloads, ("writes", "reads"), "--workloads"),
            [int(c) for c in args.client_counts.split(",") if c.strip()],
        )
        base = BenchOptions(
            duration_s=args.duration,
            keys=args.keys,
            value_bytes=args.value_size,
            warmup_s=args.warmup,
            timeout_s=args.timeout,
            check=args.check,
            max_states=args.max_states,
        ).validate()
    except (OptionsError, ValueError) as exc:
        print(f"pyxos bench matrix: error: {exc}", file=sys.stderr)
        return 2
    out = args.out or _default_out()
    say = print if args.output != "json" else _say_on_stderr
    try:
        with _target(args, say) as (http, fast):
            rows = run_sync(
                run_grid(
                    base,
                    {"http": http, "fast": fast},
                    points,
                    connections=args.connections,
                    out_dir=out,
                    progress=args.progress,
                    say=say,
                )
            )
    except (ConfigError, PyxosError, RuntimeError, TimeoutError, ValueError) as exc:
        print(f"pyxos bench matrix: error: {exc}", file=sys.stderr)
        return 1
    if args.output == "json":
        sys.stdout.buffer.write(msgspec.json.encode({"rows": rows, "reports": str(out)}) + b"\n")
        sys.stdout.flush()
    else:
        print()
        print(markdown_table(rows))
        print(f"\nreports in {out}/<protocol>-<workload>-<clients>/")
    return 0 if all(row.linearizable is not False for row in rows) else 1


def run_sim(args: argparse.Namespace) -> int:
    from pyxos.cli.sim_cmd import sweep

    seeds: range = args.seeds
    totals = sweep(seeds, {}, report=False)
    if args.output == "json":
        figures = {"seeds": f"{seeds.start}..{seeds.stop - 1}", **totals.speed_figures()}
        print_json({**figures, "failing": [r.seed for r in totals.failing]})
        return 1 if totals.failing else 0
    print(f"pyxos bench sim --seeds {seeds.start}..{seeds.stop - 1}")
    print(f"simulator speed: {totals.speed()}")
    if totals.failing:
        print(f"note: {len(totals.failing)} seeds had violations (run `pyxos sim` on them)")
        return 1
    return 0


def run_storage(args: argparse.Namespace) -> int:
    from pyxos.bench.storage import bench_storage, format_storage_bench

    if args.restart_records < 1:
        print("pyxos bench storage: error: --restart-records must be positive", file=sys.stderr)
        return 2
    result = bench_storage(args.dir, restart_records=args.restart_records)
    if args.output == "json":
        print_json(dataclasses.asdict(result))
        return 0
    print(f"pyxos bench storage --restart-records {args.restart_records}")
    print(format_storage_bench(result))
    return 0


# ---- where the cluster is -----------------------------------------------------------------
def _choices(text: str, allowed: Sequence[str], flag: str) -> list[Any]:
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    bad = [item for item in chosen if item not in allowed]
    if bad or not chosen:
        raise ValueError(f"{flag}: choose from {', '.join(allowed)}")
    return chosen


def _default_out() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.gettempdir()) / f"pyxos-bench-{stamp}-{os.getpid()}"


def _addresses(config: ClusterConfig) -> tuple[list[str], list[str]]:
    """`(HTTP, fast protocol)` addresses of the members, as a client on this host dials them."""
    return (
        [str(reachable(s.http)) for s in config.nodes],
        [str(reachable(s.client)) for s in config.nodes],
    )


@contextmanager
def _target(
    args: argparse.Namespace, say: Callable[[str], None]
) -> Iterator[tuple[list[str], list[str]]]:
    """`(HTTP addresses, fast protocol addresses)` of the cluster to drive."""
    if args.cluster:
        with temporary_cluster(say=say) as config:
            yield _addresses(config)
        return
    if args.config is not None or args.endpoints or args.http_endpoints:
        http, fast = (
            _addresses(load_config(args.config))
            if args.config is not None
            else (DEFAULT_HTTP.split(","), DEFAULT_FAST.split(","))
        )
    else:  # as every command finds the cluster: $PYXOS_ENDPOINTS, ./pyxos-data, pyxos up's
        target = cluster_target(args)
        if target.config is not None:
            http, fast = _addresses(load_config(target.config))
        elif target.source == "default":
            http, fast = DEFAULT_HTTP.split(","), DEFAULT_FAST.split(",")
        else:
            members = find_members(config=None, endpoints=target.endpoints)
            http = [str(m.http) for m in members]
            fast = [str(m.client) for m in members]
    if args.http_endpoints:
        http = [e.strip() for e in args.http_endpoints.split(",") if e.strip()]
    if args.endpoints:
        fast = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    yield http, fast


@contextmanager
def temporary_cluster(
    nodes: int = 3, log_level: str = "warning", say: Callable[[str], None] = print
) -> Iterator[ClusterConfig]:
    """A new local cluster on free ports in a temporary directory, started as `pyxos up`
    starts one, until every node knows the leader; stopped and deleted afterwards. Raises
    `RuntimeError` if it does not come up."""
    from pyxos.bench.ready import wait_for_leader

    with tempfile.TemporaryDirectory(prefix="pyxos-bench-") as tmp:
        ports = free_ports(3 * nodes)
        path = up_cmd.write_cluster_file(
            Path(tmp),
            http_ports=ports[:nodes],
            peer_ports=ports[nodes : 2 * nodes],
            client_ports=ports[2 * nodes :],
        )
        config = load_config(path)
        procs: dict[int, subprocess.Popen[bytes]] = {}
        try:
            procs, logs = up_cmd.spawn_nodes(path, config, log_level, procs)
            if up_cmd.wait_healthy(config, procs, logs) != 0:
                raise RuntimeError("the temporary cluster did not start")
            wait_for_leader(_addresses(config)[0], LEADER_DEADLINE_S)
            say(f"temporary cluster {config.cluster}: {nodes} nodes in {tmp}")
            yield config
        finally:
            up_cmd.stop_all(procs)
