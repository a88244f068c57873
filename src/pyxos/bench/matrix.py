"""The `make bench` matrix: {fast, http} x {writes, linearizable reads} x {1, 16, 64} clients.

The shape of the peers' measurements (docs/BENCHMARKS.md): 1,000 keys, 100-byte values, a few
seconds per point after a warm-up; reads run after a load phase, so that every read finds a
value. The result is a markdown table with throughput and p50 / p99 latency per point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from pyxos.bench.options import BenchOptions, Protocol
from pyxos.bench.report import BenchReport
from pyxos.bench.run import run_bench

Operation = Literal["writes", "reads"]
PROTOCOLS: tuple[Protocol, ...] = ("fast", "http")
OPERATIONS: tuple[Operation, ...] = ("writes", "reads")
CLIENTS = (1, 16, 64)


@dataclass(frozen=True, slots=True, kw_only=True)
class MatrixPoint:
    protocol: Protocol
    operation: Operation
    clients: int

    @property
    def name(self) -> str:
        return f"{self.protocol}-{self.operation}-{self.clients}"


class MatrixRow(msgspec.Struct, frozen=True, kw_only=True):
    protocol: str
    operation: str
    clients: int
    throughput_ops_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    linearizable: bool | None


def matrix_points(
    protocols: Sequence[Protocol] = PROTOCOLS,
    operations: Sequence[Operation] = OPERATIONS,
    clients: Sequence[int] = CLIENTS,
) -> list[MatrixPoint]:
    return [
        MatrixPoint(protocol=p, operation=o, clients=c)
        for p in protocols
        for o in operations
        for c in clients
    ]


def point_options(base: BenchOptions, point: MatrixPoint) -> BenchOptions:
    """`base` turned into the run of one point: its protocol and clients; writes only, or
    linearizable reads only after a load phase."""
    writes = point.operation == "writes"
    return msgspec.structs.replace(
        base,
        protocol=point.protocol,
        concurrency=point.clients,
        write_ratio=1.0 if writes else 0.0,
        load=not writes,
        consistency="linearizable",
        key_prefix="",
    )


def row_of(point: MatrixPoint, report: BenchReport) -> MatrixRow:
    return MatrixRow(
        protocol=point.protocol,
        operation=point.operation,
        clients=point.clients,
        throughput_ops_s=report.throughput_ops_s,
        p50_ms=report.latency.median_ms,
        p99_ms=report.latency.p99_ms,
        errors=sum(report.errors.values()),
        linearizable=None if report.check is None else report.check.ok,
    )


async def run_matrix(
    base: BenchOptions,
    endpoints: Mapping[Protocol, Sequence[str]],
    points: Sequence[MatrixPoint],
    *,
    connections: int = 1,
    out_dir: Path | None = None,
    progress: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> list[MatrixRow]:
    """Run every point in turn; one row per point."""
    rows = []
    for point in points:
        report = await run_bench(
            point_options(base, point),
            endpoints[point.protocol],
            connections=connections,
            out_dir=None if out_dir is None else out_dir / point.name,
            progress=progress,
            label=point.name,
        )
        row = row_of(point, report)
        rows.append(row)
        verdict = {None: "not checked", True: "linearizable", False: "NOT LINEARIZABLE"}
        say(
            f"{point.name}: {row.throughput_ops_s:,.0f} ops/s, p50 {row.p50_ms:.2f} ms, "
            f"p99 {row.p99_ms:.2f} ms, {row.errors} errors, {verdict[row.linearizable]}"
        )
    return rows


def markdown_table(rows: Sequence[MatrixRow]) -> str:
    """Rows as the peers' table: one line per protocol and operation, one column per client
    count, each cell `ops/s (p50 / p99 ms)`."""
    clients = sorted({row.clients for row in rows})
    lines = [
        "| protocol | operation, ops/s (p50 / p99 ms) | "
        + " | ".join(f"{c} client{'s' if c != 1 else ''}" for c in clients)
        + " |",
        "| --- | --- | " + " | ".join("---" for _ in clients) + " |",
    ]
    groups: dict[tuple[str, str], dict[int, MatrixRow]] = {}
    for row in rows:
        groups.setdefault((row.protocol, row.operation), {})[row.clients] = row
    for (protocol, operation), by_clients in groups.items():
        what = "writes" if operation == "writes" else "linearizable reads"
        cells = [_cell(by_clients.get(c)) for c in clients]
        lines.append(f"| {protocol} | {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(row: MatrixRow | None) -> str:
    if row is None:
        return "-"
    mark = "" if row.linearizable in (None, True) else " NOT LINEARIZABLE"
    errors = f", {row.errors} errors" if row.errors else ""
    return f"{row.throughput_ops_s:,.0f} ({_ms(row.p50_ms)} / {_ms(row.p99_ms)}){errors}{mark}"


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"
