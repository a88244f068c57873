"""The side-by-side rows, their ratios to pyxos, and the markdown table.

One row per system, protocol, operation and client count. The reference for the ratios is
pyxos over its fast client protocol at the same operation and client count: a throughput
ratio above 1 means faster than pyxos, a CPU ratio above 1 means more server CPU per operation.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

REFERENCE = ("pyxos", "fast")


class PeerRow(msgspec.Struct, frozen=True, kw_only=True):
    system: str
    protocol: str
    operation: str
    """`writes` or `reads` (linearizable)."""
    clients: int
    operations: int
    """Operations invoked after the warm-up that succeeded."""
    measured_s: float
    throughput_ops_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_s: float
    """User + system CPU of all the members over the measured window."""
    client_cpu_s: float
    """The load generator's own CPU over the same window."""

    @property
    def server_cpu_ms_per_op(self) -> float:
        return per_op_ms(self.server_cpu_s, self.operations)

    @property
    def client_cpu_ms_per_op(self) -> float:
        return per_op_ms(self.client_cpu_s, self.operations)


class PeersReport(msgspec.Struct, frozen=True, kw_only=True):
    """What `pyxos bench peers --out` writes: the rows and how they were taken."""

    command: str
    started_at: str
    machine: dict[str, str]
    load_average_before: tuple[float, float, float]
    load_average_after: tuple[float, float, float]
    rows: list[PeerRow]
    failed: dict[str, str]
    """Systems that could not be measured, and why."""


def per_op_ms(cpu_s: float, operations: int) -> float:
    """CPU milliseconds per operation; 0 when there were none."""
    return 1000 * cpu_s / operations if operations > 0 else 0.0


def reference_of(row: PeerRow, rows: Sequence[PeerRow]) -> PeerRow | None:
    """pyxos's fast-protocol row at `row`'s operation and client count, if there is one."""
    for other in rows:
        if (other.system, other.protocol) == REFERENCE and (other.operation, other.clients) == (
            row.operation,
            row.clients,
        ):
            return other
    return None


def ratio(value: float, reference: float) -> float | None:
    """`value / reference`, or None when the reference is 0."""
    return value / reference if reference > 0 else None


def median_row(rows: Sequence[PeerRow]) -> PeerRow:
    """The repetition with the median throughput (the lower middle one of an even count)."""
    if not rows:
        raise ValueError("no rows")
    ordered = sorted(rows, key=lambda r: r.throughput_ops_s)
    return ordered[(len(ordered) - 1) // 2]


HEADER = (
    "| system | protocol | op | clients | ops/s | p50 ms | p99 ms | server CPU ms/op "
    "| client CPU ms/op | ops/s vs pyxos | CPU/op vs pyxos |"
)


def markdown_table(rows: Sequence[PeerRow]) -> str:
    """`rows` in order as a markdown table with their ratios to pyxos's fast protocol."""
    lines = [HEADER, _rule()]
    for row in rows:
        ref = reference_of(row, rows)
        tput = None if ref is None else ratio(row.throughput_ops_s, ref.throughput_ops_s)
        cpu = None if ref is None else ratio(row.server_cpu_ms_per_op, ref.server_cpu_ms_per_op)
        errors = f" ({row.errors} errors)" if row.errors else ""
        op = "writes" if row.operation == "writes" else "lin. reads"
        lines.append(
            f"| {row.system} | {row.protocol} | {op} | {row.clients} "
            f"| {row.throughput_ops_s:,.0f}{errors} | {_ms(row.p50_ms)} | {_ms(row.p99_ms)} "
            f"| {row.server_cpu_ms_per_op:.3f} | {row.client_cpu_ms_per_op:.3f} "
            f"| {_times(tput)} | {_times(cpu)} |"
        )
    return "\n".join(lines)


def _rule() -> str:
    return "|" + " --- |" * (HEADER.count("|") - 1)


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"
