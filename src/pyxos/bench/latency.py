"""Latency figures: an HdrHistogram per operation kind, and a timeline for the plot.

Latencies are recorded in microseconds into HdrHistograms (3 significant digits, 1 µs to 60 s;
a slower answer is recorded as 60 s), and summarised in milliseconds. The timeline keeps each
measured operation's latency in the interval of the run it completed in, so that the plot can
show how latency and throughput moved over the run.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

import msgspec
from hdrh.histogram import HdrHistogram

LATENCY_US_MIN = 1
LATENCY_US_MAX = 60_000_000
SIGNIFICANT_DIGITS = 3
PERCENTILES = (50.0, 95.0, 99.0, 99.9)


class LatencySummary(msgspec.Struct, frozen=True, kw_only=True):
    """Latency of `count` operations, in milliseconds."""

    count: int
    mean_ms: float
    median_ms: float
    min_ms: float
    max_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float


EMPTY = LatencySummary(
    count=0, mean_ms=0.0, median_ms=0.0, min_ms=0.0, max_ms=0.0, p95_ms=0.0, p99_ms=0.0, p999_ms=0.0
)


class Histogram:
    """A typed face on `hdrh`'s histogram, in microseconds."""

    def __init__(self) -> None:
        self._h = HdrHistogram(LATENCY_US_MIN, LATENCY_US_MAX, SIGNIFICANT_DIGITS)

    def record_us(self, latency_us: int) -> None:
        self._h.record_value(min(max(latency_us, LATENCY_US_MIN), LATENCY_US_MAX))

    def add(self, other: Histogram) -> None:
        # hdrh takes an empty histogram's minimum as 0: adding one would corrupt ours.
        if other.count:
            self._h.add(other._h)

    @property
    def count(self) -> int:
        return int(self._h.get_total_count())

    def summary(self) -> LatencySummary:
        if self.count == 0:
            return EMPTY
        p50, p95, p99, p999 = (float(self._h.get_value_at_percentile(p)) for p in PERCENTILES)
        return LatencySummary(
            count=self.count,
            mean_ms=float(self._h.get_mean_value()) / 1000,
            median_ms=p50 / 1000,
            min_ms=float(self._h.get_min_value()) / 1000,
            max_ms=float(self._h.get_max_value()) / 1000,
            p95_ms=p95 / 1000,
            p99_ms=p99 / 1000,
            p999_ms=p999 / 1000,
        )


class TimelinePoint(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """One interval of the run: its start (seconds since the measured run began), the
    operations completed in it per second, and their latency percentiles in milliseconds."""

    at_s: float
    ops_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float


PARTIAL_FRACTION_MIN = 0.25
"""The shortest part of an interval at the end of a run that the timeline still shows."""


class Timeline:
    """Latencies grouped by the interval (`interval_s` long) in which they completed."""

    def __init__(self, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.interval_s = interval_s
        self._buckets: dict[int, array[int]] = {}

    def record_us(self, at_s: float, latency_us: int) -> None:
        index = max(0, int(at_s / self.interval_s))
        bucket = self._buckets.get(index)
        if bucket is None:
            bucket = self._buckets[index] = array("q")
        bucket.append(latency_us)

    def points(self, end_s: float | None = None) -> list[TimelinePoint]:
        """Every interval from the first to the last that saw an operation, empty ones too.

        With `end_s`, when the measured run ended, the last interval's rate counts only the
        part of it the run covered (a run rarely ends on an interval's edge, and its last
        interval would otherwise show a drop that never happened); a sliver under
        `PARTIAL_FRACTION_MIN` of an interval is left out, too few operations to mean much."""
        if not self._buckets:
            return []
        last = max(self._buckets)
        spans = [self.interval_s] * (last + 1)
        if end_s is not None:
            covered = end_s - last * self.interval_s
            if covered < PARTIAL_FRACTION_MIN * self.interval_s:
                last -= 1
            else:
                spans[last] = min(self.interval_s, covered)
        points = []
        for index in range(last + 1):
            values = sorted(self._buckets.get(index, ()))
            points.append(
                TimelinePoint(
                    at_s=round(index * self.interval_s, 6),
                    ops_per_s=len(values) / spans[index],
                    p50_ms=percentile(values, 50.0) / 1000,
                    p99_ms=percentile(values, 99.0) / 1000,
                    max_ms=(values[-1] if values else 0) / 1000,
                )
            )
        return points


def percentile(ordered: Sequence[int], p: float) -> float:
    """The nearest-rank `p`th percentile of `ordered` (sorted ascending); 0 if it is empty."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def throughput(ops: int, seconds: float) -> float:
    """Operations per second; 0 for an empty interval."""
    return ops / seconds if seconds > 0 else 0.0
