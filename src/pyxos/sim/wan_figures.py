"""The wide-area benchmark's figures: latency per zone and overall, throughput, the zone loss.

Latencies are virtual milliseconds from an operation's first send to its first answer, of the
operations invoked in the measured interval (after the warm-up, before the end); an operation
invoked then and answered after the end still counts (its latency is real). Throughput counts
the operations *answered* in the interval, per virtual second. Percentiles are nearest-rank.

Around a zone loss, each zone's operations are split by when they were invoked: before the loss,
in flight at it or invoked in the second after it (`during`: its worst latency is what the loss
cost), and the rest (`after`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyxos.check.history import Operation

LOSS_SETTLE_US = 1_000_000
"""Operations invoked within this long after a zone loss count as hit by it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Latency:
    """One group of operations: how many, mean, median, p99 and max latency in ms."""

    ops: int
    mean_ms: float
    median_ms: float
    p99_ms: float
    max_ms: float

    @staticmethod
    def of(latencies_us: Sequence[int]) -> Latency:
        if not latencies_us:
            return Latency(ops=0, mean_ms=0.0, median_ms=0.0, p99_ms=0.0, max_ms=0.0)
        ordered = sorted(latencies_us)
        count = len(ordered)
        return Latency(
            ops=count,
            mean_ms=round(sum(ordered) / count / 1000, 2),
            median_ms=round(_rank(ordered, 0.50) / 1000, 2),
            p99_ms=round(_rank(ordered, 0.99) / 1000, 2),
            max_ms=round(ordered[-1] / 1000, 2),
        )


def _rank(ordered: Sequence[int], q: float) -> int:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneFigures:
    """One zone's figures (or the whole cluster's, named `all`)."""

    zone: str
    latency: Latency
    ops_per_s: float
    unanswered: int
    """Operations invoked in the interval and never answered (a stalled or lost zone)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LossFigures:
    """One zone's latency before, around and after the loss of `lost` at `at_s`."""

    zone: str
    before: Latency
    during: Latency
    after: Latency


def zone_figures(
    name: str, history: Iterable[Operation], *, start_us: int, end_us: int
) -> ZoneFigures:
    """The figures of `history` (one zone's, or everybody's) for the interval."""
    latencies: list[int] = []
    answered_in = 0
    unanswered = 0
    for op in history:
        if op.complete is not None and start_us <= op.complete < end_us:
            answered_in += 1
        if not start_us <= op.invoke < end_us:
            continue
        if op.complete is None:
            unanswered += 1
        else:
            latencies.append(op.complete - op.invoke)
    seconds = (end_us - start_us) / 1e6
    return ZoneFigures(
        zone=name,
        latency=Latency.of(latencies),
        ops_per_s=round(answered_in / seconds, 1) if seconds > 0 else 0.0,
        unanswered=unanswered,
    )


def loss_figures(
    name: str, history: Iterable[Operation], *, start_us: int, loss_us: int, end_us: int
) -> LossFigures:
    """`history`'s latencies split around a loss at `loss_us` (see the module docstring)."""
    before: list[int] = []
    during: list[int] = []
    after: list[int] = []
    for op in history:
        if op.complete is None or not start_us <= op.invoke < end_us:
            continue
        latency = op.complete - op.invoke
        if op.invoke >= loss_us + LOSS_SETTLE_US:
            after.append(latency)
        elif op.complete >= loss_us:
            during.append(latency)
        else:
            before.append(latency)
    return LossFigures(
        zone=name, before=Latency.of(before), during=Latency.of(during), after=Latency.of(after)
    )
