"""`RequestMeter`: requests per second and their latency over the last few seconds.

Theory of operation. Each answered request adds one to a bin of a small log-scale histogram
(four bins per doubling, so a percentile read from the bin edges is within 19% of the truth)
kept per whole second of the clock. `rates(now_s)` merges the histograms of the last
`window_s` *finished* seconds: the second still running is left out, so a rate never shows a
false dip because the current second has only just begun. The memory is bounded (one bin array
per second of the window) and a request costs a `log2` and an increment.

Time is an input (`now_s`, from a monotonic clock that the caller reads), so the meter is
tested with made-up times.
"""

from __future__ import annotations

import math
from collections import deque

from pyxos.runtime.status import RequestRates

BINS_PER_DOUBLING = 4
BINS = BINS_PER_DOUBLING * 28  # up to 2**28 us, about 4.5 minutes
WINDOW_S = 5


class _Second:
    __slots__ = ("bins", "count", "errors", "max_us", "second")

    def __init__(self, second: int) -> None:
        self.second = second
        self.bins = [0] * BINS
        self.count = 0
        self.errors = 0
        self.max_us = 0.0


class RequestMeter:
    """Counts answered requests by the second they finished in; see the module docstring."""

    def __init__(self, window_s: int = WINDOW_S) -> None:
        if window_s < 1:
            raise ValueError("window_s must be at least 1")
        self.window_s = window_s
        self._seconds: deque[_Second] = deque()
        self._since: int | None = None  # the first second anything was recorded in

    def record(self, now_s: float, latency_s: float, *, ok: bool = True) -> None:
        """One request answered at `now_s` after `latency_s` (a failure if not `ok`)."""
        second = int(now_s)
        if self._since is None:
            self._since = second
        seconds = self._seconds
        if not seconds or seconds[-1].second != second:
            seconds.append(_Second(second))
            while seconds[0].second < second - self.window_s:
                seconds.popleft()
        bucket = seconds[-1]
        latency_us = max(latency_s * 1e6, 1.0)
        index = min(BINS - 1, int(math.log2(latency_us) * BINS_PER_DOUBLING))
        bucket.bins[index] += 1
        bucket.count += 1
        if not ok:
            bucket.errors += 1
        bucket.max_us = max(bucket.max_us, latency_us)

    def rates(self, now_s: float) -> RequestRates:
        """The figures of the `window_s` whole seconds before the one `now_s` is in (fewer
        in the first seconds after the first request: the rate is not diluted by seconds
        before the node served anything)."""
        current = int(now_s)
        span = self.window_s if self._since is None else min(self.window_s, current - self._since)
        window = [s for s in self._seconds if current - span <= s.second < current]
        count = sum(s.count for s in window)
        if not count:
            return RequestRates(window_s=float(self.window_s))
        merged = [sum(column) for column in zip(*(s.bins for s in window), strict=True)]
        max_ms = max(s.max_us for s in window) / 1000
        return RequestRates(
            window_s=float(span),
            per_s=round(count / span, 1),
            errors_per_s=round(sum(s.errors for s in window) / span, 1),
            p50_ms=round(min(max_ms, _edge_ms(merged, count, 0.50)), 3),
            p99_ms=round(min(max_ms, _edge_ms(merged, count, 0.99)), 3),
            max_ms=round(max_ms, 3),
        )


def _edge_ms(bins: list[int], count: int, fraction: float) -> float:
    """The upper edge, in ms, of the bin that holds the nearest-rank `fraction` quantile."""
    rank = max(1, math.ceil(fraction * count))
    seen = 0
    for index, n in enumerate(bins):
        seen += n
        if seen >= rank:
            return float(2 ** ((index + 1) / BINS_PER_DOUBLING) / 1000)
    raise AssertionError("rank beyond the count")
