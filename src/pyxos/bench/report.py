"""The report of one run: a msgspec struct written as report.json, and the printed summary."""

from __future__ import annotations

import msgspec

from pyxos.bench.latency import LatencySummary, TimelinePoint
from pyxos.bench.options import BenchOptions


class CheckSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The linearizability verdict on the run's history."""

    ok: bool
    undecided: bool
    operations: int
    keys: int
    seconds: float
    verdict: str
    """`CheckResult.render()`: one line when linearizable, the counterexample otherwise."""


class BenchReport(msgspec.Struct, frozen=True, kw_only=True):
    options: BenchOptions
    endpoints: tuple[str, ...]
    started_at: str
    """Wall-clock time the measured run started, ISO 8601 UTC."""
    measured_s: float
    operations: int
    """Operations invoked after the warm-up that completed successfully."""
    throughput_ops_s: float
    latency: LatencySummary
    reads: LatencySummary
    writes: LatencySummary
    errors: dict[str, int]
    """Failed operations of the run (warm-up included) by error type; their outcome is unknown."""
    issued: int
    """Operations started, warm-up included."""
    client_cpu_s: float = 0.0
    """CPU time the benchmark process itself used during the run (it shares the machine)."""
    load_ops: int = 0
    load_s: float = 0.0
    load_errors: dict[str, int] = msgspec.field(default_factory=dict)
    history_ops: int = 0
    check: CheckSummary | None = None
    timeline: tuple[TimelinePoint, ...] = ()

    @property
    def passed(self) -> bool:
        """The run did operations and its history, if checked, is linearizable."""
        return self.operations > 0 and (self.check is None or self.check.ok)


def to_json(report: BenchReport) -> bytes:
    return msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n"


def from_json(data: bytes) -> BenchReport:
    return msgspec.json.decode(data, type=BenchReport)


def describe(options: BenchOptions, clients_word: bool = True) -> str:
    """One line naming the workload, e.g. `fast, closed loop, 16 clients, W=0.5, ...`."""
    loop = (
        f"open loop at {options.throttle:g}/s (at most {options.concurrency} in flight)"
        if options.open_loop
        else f"closed loop, {options.concurrency} client{'s' if options.concurrency != 1 else ''}"
    )
    if options.throttle and not options.open_loop:
        loop += f" throttled to {options.throttle:g}/s"
    stop = []
    if options.duration_s:
        stop.append(f"{options.duration_s:g} s")
    if options.operations:
        stop.append(f"{options.operations} ops")
    reads = "" if options.write_ratio == 1 else f", {options.consistency} reads"
    return (
        f"{options.protocol}, {loop}, {' or '.join(stop)}, W={options.write_ratio:g}{reads}, "
        f"{options.keys} keys ({options.distribution}), {options.value_bytes}-byte values"
    )


def render(report: BenchReport) -> str:
    """The summary printed at the end of a run."""
    lines = [f"workload   {describe(report.options)}"]
    if report.options.load:
        lines.append(
            f"load       {report.load_ops:,} keys written in {report.load_s:.2f} s"
            + _errors_suffix(report.load_errors)
        )
    lines.append(
        f"measured   {report.operations:,} ops in {report.measured_s:.2f} s = "
        f"{report.throughput_ops_s:,.0f} ops/s (reads {report.reads.count:,}, "
        f"writes {report.writes.count:,}); the client used {report.client_cpu_s:.2f} CPU-s"
    )
    header = f"{'latency ms':<10} {'count':>9} {'mean':>8} {'median':>8} {'min':>8} {'max':>8}"
    header += f" {'p95':>8} {'p99':>8} {'p99.9':>8}"
    lines.append(header)
    for name, s in (("all", report.latency), ("reads", report.reads), ("writes", report.writes)):
        if s.count == 0 and name != "all":
            continue
        lines.append(
            f"{name:<10} {s.count:>9,} {s.mean_ms:>8.3f} {s.median_ms:>8.3f} {s.min_ms:>8.3f} "
            f"{s.max_ms:>8.3f} {s.p95_ms:>8.3f} {s.p99_ms:>8.3f} {s.p999_ms:>8.3f}"
        )
    errors = ", ".join(f"{code} {n:,}" for code, n in sorted(report.errors.items())) or "none"
    lines.append(f"errors     {errors}")
    if report.check is None:
        lines.append("check      skipped (--no-check)")
    else:
        verdict = report.check.verdict.rstrip("\n")
        first, _, rest = verdict.partition("\n")
        lines.append(f"check      {first} ({report.check.seconds:.2f} s)")
        if rest:
            lines.extend(f"           {line}" for line in rest.splitlines())
    return "\n".join(lines)


def _errors_suffix(errors: dict[str, int]) -> str:
    if not errors:
        return ""
    return " (errors: " + ", ".join(f"{c} {n}" for c, n in sorted(errors.items())) + ")"
