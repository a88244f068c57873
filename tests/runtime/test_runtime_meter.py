"""The request meter behind the status page's throughput and latency figures."""

from __future__ import annotations

import pytest

from pyxos.runtime.meter import RequestMeter
from pyxos.runtime.status import RequestRates


def test_no_requests_no_figures() -> None:
    assert RequestMeter().rates(100.0) == RequestRates(window_s=5.0)


def test_rates_and_percentiles_of_the_finished_seconds() -> None:
    meter = RequestMeter(window_s=5)
    for second in (10, 11):
        for i in range(98):
            meter.record(second + i / 100, 0.001)
        meter.record(second + 0.98, 0.100, ok=False)
        meter.record(second + 0.99, 0.100)
    rates = meter.rates(12.5)
    assert rates.window_s == 2.0  # only two seconds since the first request: not diluted
    assert rates.per_s == 100.0
    assert rates.errors_per_s == 1.0
    assert rates.p50_ms == pytest.approx(1.0, rel=0.19)
    assert rates.p99_ms == pytest.approx(100.0, rel=0.19)
    assert rates.max_ms == 100.0
    assert rates.p50_ms <= rates.p99_ms <= rates.max_ms


def test_the_running_second_is_left_out_so_a_rate_never_dips_at_its_start() -> None:
    meter = RequestMeter(window_s=2)
    for second in range(10, 20):
        for i in range(50):
            meter.record(second + i / 100, 0.002)
    steady = meter.rates(19.0).per_s
    assert steady == 50.0
    # Just after a new second begins (only a few requests so far in it), the rate holds.
    meter.record(20.01, 0.002)
    assert meter.rates(20.02).per_s == 50.0


def test_old_seconds_leave_the_window() -> None:
    meter = RequestMeter(window_s=3)
    meter.record(1.0, 0.5)
    for second in range(2, 8):
        meter.record(second + 0.5, 0.001)
    rates = meter.rates(8.0)
    assert rates.per_s == 1.0
    assert rates.max_ms == 1.0  # the 500 ms request of second 1 is gone
    assert meter.rates(30.0).per_s == 0.0


def test_a_window_shorter_than_a_second_is_refused() -> None:
    with pytest.raises(ValueError, match="window_s"):
        RequestMeter(window_s=0)
