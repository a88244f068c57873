"""`pyxos bench wan`: a protocol on a simulated wide-area network (`pyxos.sim.wan_bench`).

    pyxos bench wan [--protocol P] [--quorums Q] [--protocol-option NAME=VALUE]
                    [--workload uniform|normal|conflict] [--sigma S] [--move] [--conflict PCT]
                    [--leader-zone SITE] [--zone-loss-at-s S [--lost-zone SITE]]
                    [-T S] [--warmup S] [--seed N] [-o json]

Prints latency (mean, median, p99; virtual ms) and throughput (ops per virtual second) per zone
and overall, WPaxos' ownership moves, the latency around a zone loss, the agreement checkers'
verdict, and the CPU time the run took. Exit status 0, 1 if a checker found a violation, 2 for
bad options.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from pyxos.cli.output import add_output_argument, print_json
from pyxos.cli.protocol_args import add_protocol_arguments, protocol_options
from pyxos.sim.wan import PAPER_SITES
from pyxos.sim.wan_bench import WAN_NOTES, WanReport, run_wan_bench
from pyxos.sim.wan_figures import Latency, ZoneFigures
from pyxos.sim.wan_options import WanBenchOptions
from pyxos.sim.wan_workload import WORKLOADS

EXIT_USAGE = 2
_DEFAULTS = WanBenchOptions()


def add_parser(kinds: Any) -> None:
    """Register `wan` under `pyxos bench`."""
    p = kinds.add_parser(
        "wan",
        help="a protocol on a simulated wide-area network: latency per zone, in virtual time",
        description=(
            "Run a protocol in the deterministic simulator on a wide-area network (the EPaxos "
            "and WPaxos papers' five AWS sites: VA, CA, OR, IR, JP; 0.4 ms inside a site, 2 ms "
            "jitter), zones x nodes with zone-style ids, closed-loop clients in every zone that "
            "talk to their own zone's nodes. Prints latency and throughput per zone and overall "
            "(virtual time), WPaxos' steals and forwards, and the agreement checkers' verdict."
        ),
    )
    add_protocol_arguments(p)
    p.set_defaults(quorums=None)  # the protocol's own default here: a grid for wpaxos
    g = p.add_argument_group("cluster")
    g.add_argument("--zones", type=int, default=_DEFAULTS.zones, help="sites used, 1..5 (5)")
    g.add_argument(
        "--nodes-per-zone", type=int, default=_DEFAULTS.nodes_per_zone, help="nodes per zone (3)"
    )
    g.add_argument(
        "--clients-per-zone",
        type=int,
        default=_DEFAULTS.clients_per_zone,
        help="closed-loop clients per zone (20)",
    )
    g.add_argument(
        "--leader-zone",
        default=None,
        metavar="SITE",
        help=f"the site given the lowest node ids, where Multi-Paxos' first leader sits "
        f"({', '.join(PAPER_SITES)}; default {PAPER_SITES[0]})",
    )
    g.add_argument(
        "--step-cost-us",
        type=int,
        default=_DEFAULTS.step_cost_us,
        help=f"virtual CPU time a node spends per input ({_DEFAULTS.step_cost_us})",
    )
    w = p.add_argument_group("workload (Paxi's knobs)")
    w.add_argument("--workload", choices=WORKLOADS, default=_DEFAULTS.workload)
    w.add_argument("-K", "--keys", type=int, default=_DEFAULTS.keys, help="key space (1000)")
    w.add_argument(
        "--sigma",
        type=float,
        default=_DEFAULTS.sigma,
        help="normal: standard deviation around each zone's centre of the keys (100)",
    )
    w.add_argument("--move", action="store_true", help="normal: the means move ...")
    w.add_argument(
        "--speed", type=int, default=_DEFAULTS.speed_ms, metavar="MS", help="... a key per MS (500)"
    )
    w.add_argument(
        "--conflict",
        type=int,
        default=_DEFAULTS.conflict_percent,
        metavar="PERCENT",
        help="conflict: percent of operations on the hot key, the rest on each client's own (0)",
    )
    w.add_argument(
        "-W",
        "--write-ratio",
        type=float,
        default=_DEFAULTS.write_ratio,
        metavar="RATIO",
        help="fraction of puts; the rest are linearizable gets (1.0)",
    )
    w.add_argument(
        "--think-ms",
        type=float,
        default=_DEFAULTS.think_ms,
        metavar="MS",
        help="a client's mean pause between operations, uniform up to twice this (0: none)",
    )
    t = p.add_argument_group("time (virtual) and faults")
    t.add_argument(
        "-T",
        "--duration",
        type=float,
        default=_DEFAULTS.duration_s,
        metavar="S",
        help=f"measured seconds, after the warm-up ({_DEFAULTS.duration_s:g})",
    )
    t.add_argument(
        "--warmup",
        type=float,
        default=_DEFAULTS.warmup_s,
        metavar="S",
        help=f"seconds left out of the figures ({_DEFAULTS.warmup_s:g})",
    )
    t.add_argument(
        "--zone-loss-at-s",
        type=float,
        default=None,
        metavar="S",
        help="cut one zone away this many seconds into the measured interval, until the end",
    )
    t.add_argument(
        "--lost-zone", default=None, metavar="SITE", help="the zone cut away (the leader zone)"
    )
    t.add_argument("--seed", type=int, default=1, help="the run's seed (1)")
    t.add_argument(
        "--check-linearizability",
        action="store_true",
        help="also search the whole history for a linearization (slow on long runs)",
    )
    add_output_argument(p)
    p.set_defaults(func=run_wan)


def options_from(args: argparse.Namespace) -> WanBenchOptions:
    """The run's options from the command line. Raises `ValueError` naming a bad one."""
    return WanBenchOptions(
        seed=args.seed,
        zones=args.zones,
        nodes_per_zone=args.nodes_per_zone,
        clients_per_zone=args.clients_per_zone,
        duration_s=args.duration,
        warmup_s=args.warmup,
        protocol=args.protocol,
        quorums=args.quorums,
        protocol_options=protocol_options(args),
        leader_zone=args.leader_zone,
        workload=args.workload,
        keys=args.keys,
        sigma=args.sigma,
        move=args.move,
        speed_ms=args.speed,
        conflict_percent=args.conflict,
        write_ratio=args.write_ratio,
        think_ms=args.think_ms,
        zone_loss_at_s=args.zone_loss_at_s,
        lost_zone=args.lost_zone,
        step_cost_us=args.step_cost_us,
        check_linearizability=args.check_linearizability,
    )


def run_wan(args: argparse.Namespace) -> int:
    try:
        options = options_from(args)
    except ValueError as exc:
        print(f"pyxos bench wan: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    cpu = time.process_time()
    report = run_wan_bench(options)
    cpu_s = round(time.process_time() - cpu, 1)
    if args.output == "json":
        print_json(report_json(report, cpu_s))
    else:
        print(render(report, cpu_s))
    return 1 if report.violations else 0


# ---- what it prints -------------------------------------------------------------------------
def _latency_json(latency: Latency) -> dict[str, float | int]:
    return {
        "ops": latency.ops,
        "mean_ms": latency.mean_ms,
        "median_ms": latency.median_ms,
        "p99_ms": latency.p99_ms,
        "max_ms": latency.max_ms,
    }


def _zone_json(zone: ZoneFigures) -> dict[str, Any]:
    return {
        "zone": zone.zone,
        **_latency_json(zone.latency),
        "ops_per_s": zone.ops_per_s,
        "unanswered": zone.unanswered,
    }


def report_json(report: WanReport, cpu_s: float) -> dict[str, Any]:
    """The report as one JSON document (`-o json`)."""
    o = report.options
    return {
        "seed": o.seed,
        "protocol": o.protocol,
        "quorums": report.quorums,
        "protocol_options": dict(o.protocol_options),
        "zones_nodes_clients": [o.zones, o.nodes_per_zone, o.clients_per_zone],
        "leader_zone": report.leader_zone,
        "workload": describe_workload(report),
        "duration_s": o.duration_s,
        "warmup_s": o.warmup_s,
        "zones": [_zone_json(z) for z in report.zones],
        "overall": _zone_json(report.overall),
        "notes": report.notes,
        "zone_loss": None
        if report.lost_zone is None
        else {
            "zone": report.lost_zone,
            "at_s": o.zone_loss_at_s,
            "zones": [
                {
                    "zone": f.zone,
                    "before": _latency_json(f.before),
                    "during": _latency_json(f.during),
                    "after": _latency_json(f.after),
                }
                for f in report.loss
            ],
        },
        "violations": list(report.violations),
        "converged": report.converged,
        "virtual_s": report.virtual_s,
        "events": report.events,
        "messages": report.messages_sent,
        "cpu_s": cpu_s,
    }


def describe_workload(report: WanReport) -> str:
    o = report.options
    if o.workload == "normal":
        moving = f" move={o.speed_ms}ms" if o.move else ""
        text = f"normal sigma={o.sigma:g}{moving}"
    elif o.workload == "conflict":
        text = f"conflict {o.conflict_percent}%"
    else:
        text = "uniform"
    think = f" think={o.think_ms:g}ms" if o.think_ms else ""
    return f"{text} keys={o.keys} writes={o.write_ratio:g}{think}"


def render(report: WanReport, cpu_s: float) -> str:
    """The plain report: a table per zone, then the counters and the verdict."""
    o = report.options
    options = " ".join(f"{k}={v}" for k, v in o.protocol_options)
    lines = [
        f"protocol {o.protocol} quorums {report.quorums}"
        + (f" {options}" if options else "")
        + f"; {o.zones} zones x {o.nodes_per_zone} nodes, {o.clients_per_zone} clients per zone; "
        f"lowest ids in {report.leader_zone}",
        f"workload {describe_workload(report)}; seed {o.seed}; "
        f"{o.duration_s:g} s measured after {o.warmup_s:g} s",
        "",
        f"{'zone':<5} {'ops':>7} {'mean ms':>9} {'median ms':>10} {'p99 ms':>9} "
        f"{'ops/s':>9} {'unanswered':>10}",
    ]
    for zone in (*report.zones, report.overall):
        lat = zone.latency
        lines.append(
            f"{zone.zone:<5} {lat.ops:>7} {lat.mean_ms:>9.1f} {lat.median_ms:>10.1f} "
            f"{lat.p99_ms:>9.1f} {zone.ops_per_s:>9.1f} {zone.unanswered:>10}"
        )
    if any(report.notes.values()):
        lines.append("")
        lines.append("ownership " + " ".join(f"{k}={report.notes[k]}" for k in WAN_NOTES))
    if report.lost_zone is not None:
        lines.append("")
        lines.append(
            f"zone {report.lost_zone} cut away {o.zone_loss_at_s:g} s into the measured interval "
            "(median / max ms of the operations before, in flight or started within 1 s, after)"
        )
        for f in report.loss:
            lines.append(
                f"  {f.zone:<5} before {f.before.median_ms:7.1f} / {f.before.max_ms:7.1f}   "
                f"during {f.during.median_ms:7.1f} / {f.during.max_ms:7.1f}   "
                f"after {f.after.median_ms:7.1f} / {f.after.max_ms:7.1f}"
            )
    lines.append("")
    if report.violations:
        lines.append(f"VIOLATIONS ({len(report.violations)}):")
        lines.extend(f"  {v}" for v in report.violations[:10])
    else:
        checked = "agreement, applied prefixes, ballots, acknowledged writes"
        if o.check_linearizability:
            checked += ", linearizability"
        drained = "drained" if report.converged else "did not drain"
        lines.append(f"checks OK ({checked}); {drained}")
    lines.append(
        f"virtual {report.virtual_s:g} s, {report.events} events, "
        f"{report.messages_sent} messages, cpu {cpu_s:g} s"
    )
    return "\n".join(lines)
