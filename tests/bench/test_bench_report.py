"""The report's arithmetic: latency summaries, percentiles, the timeline, throughput, JSON, the
printed table, the matrix's markdown, and the plot's axes and lines."""

from __future__ import annotations

import re

import pytest

from pyxos.bench.latency import (
    LATENCY_US_MAX,
    Histogram,
    Timeline,
    TimelinePoint,
    percentile,
    throughput,
)
from pyxos.bench.matrix import MatrixPoint, MatrixRow, markdown_table, point_options
from pyxos.bench.options import BenchOptions
from pyxos.bench.plot import draw, plain_ms
from pyxos.bench.report import BenchReport, CheckSummary, from_json, render, to_json


def test_summary_of_one_to_a_thousand_microseconds() -> None:
    h = Histogram()
    for us in range(1, 1001):
        h.record_us(us)
    s = h.summary()
    assert s.count == 1000
    assert s.min_ms == 0.001
    assert s.max_ms == pytest.approx(1.0, rel=1e-3)
    assert s.mean_ms == pytest.approx(0.5005, rel=1e-3)
    assert s.median_ms == pytest.approx(0.5, rel=1e-3)
    assert s.p95_ms == pytest.approx(0.95, rel=1e-3)
    assert s.p99_ms == pytest.approx(0.99, rel=1e-3)
    assert s.p999_ms == pytest.approx(0.999, rel=1e-3)


def test_summary_keeps_three_significant_digits_at_large_values() -> None:
    h = Histogram()
    h.record_us(123_456)
    assert h.summary().max_ms == pytest.approx(123.456, rel=1e-3)


def test_out_of_range_latencies_are_clamped_not_lost() -> None:
    h = Histogram()
    h.record_us(0)
    h.record_us(10 * LATENCY_US_MAX)
    s = h.summary()
    assert s.count == 2
    assert s.min_ms == 0.001
    assert s.max_ms == pytest.approx(LATENCY_US_MAX / 1000, rel=1e-3)


def test_histograms_add_up_and_an_empty_one_summarises_to_zeros() -> None:
    a, b = Histogram(), Histogram()
    a.record_us(100)
    b.record_us(300)
    a.add(b)
    a.add(Histogram())  # an empty one changes nothing, the minimum included
    assert a.summary().count == 2
    assert a.summary().mean_ms == pytest.approx(0.2, rel=1e-3)
    assert a.summary().min_ms == pytest.approx(0.1, rel=1e-3)
    assert Histogram().summary().count == 0
    assert Histogram().summary().p99_ms == 0.0


def test_nearest_rank_percentile() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7], 99.9) == 7
    assert percentile([], 50) == 0.0


def test_throughput() -> None:
    assert throughput(500, 2.0) == 250.0
    assert throughput(5, 0.0) == 0.0


def test_timeline_fills_empty_intervals() -> None:
    t = Timeline(0.5)
    t.record_us(0.1, 1000)
    t.record_us(0.2, 3000)
    t.record_us(1.1, 2000)  # interval 2; interval 1 saw nothing
    points = t.points()
    assert [p.at_s for p in points] == [0.0, 0.5, 1.0]
    assert points[0] == TimelinePoint(at_s=0.0, ops_per_s=4.0, p50_ms=1.0, p99_ms=3.0, max_ms=3.0)
    assert points[1].ops_per_s == 0.0
    assert points[2].ops_per_s == 2.0
    assert Timeline(1.0).points() == []


def _report(**change: object) -> BenchReport:
    h = Histogram()
    for us in (500, 700, 900):
        h.record_us(us)
    fields: dict[str, object] = {
        "options": BenchOptions(concurrency=4, key_prefix="bx-"),
        "endpoints": ("127.0.0.1:9000",),
        "started_at": "2026-11-21T12:00:00+00:00",
        "measured_s": 1.5,
        "operations": 3,
        "throughput_ops_s": 2.0,
        "latency": h.summary(),
        "reads": h.summary(),
        "writes": Histogram().summary(),
        "errors": {"timeout": 2},
        "issued": 5,
        "check": CheckSummary(
            ok=True,
            undecided=False,
            operations=5,
            keys=3,
            seconds=0.01,
            verdict="linearizable: 5 operations on 3 keys\n",
        ),
    }
    fields.update(change)
    return BenchReport(**fields)  # type: ignore[arg-type]


def test_report_json_round_trips() -> None:
    report = _report(timeline=(TimelinePoint(at_s=0, ops_per_s=1, p50_ms=1, p99_ms=2, max_ms=3),))
    assert from_json(to_json(report)) == report
    assert b'"lambda": 0.01' in to_json(report)


def test_render_names_every_figure() -> None:
    text = render(_report())
    for word in ("mean", "median", "min", "max", "p95", "p99", "p99.9", "ops/s"):
        assert word in text
    assert "timeout 2" in text
    assert "linearizable: 5 operations on 3 keys" in text
    assert not any(line.startswith("writes ") for line in text.splitlines())  # none done


def test_passed_needs_operations_and_a_linearizable_history() -> None:
    assert _report().passed
    assert not _report(operations=0).passed
    failed = CheckSummary(ok=False, undecided=False, operations=1, keys=1, seconds=0, verdict="x")
    assert not _report(check=failed).passed
    assert _report(check=None).passed


def test_matrix_points_are_writes_or_loaded_reads() -> None:
    base = BenchOptions(duration_s=3, warmup_s=1)
    writes = point_options(base, MatrixPoint(protocol="http", operation="writes", clients=16))
    reads = point_options(base, MatrixPoint(protocol="fast", operation="reads", clients=64))
    assert (writes.protocol, writes.concurrency, writes.write_ratio, writes.load) == (
        "http",
        16,
        1.0,
        False,
    )
    assert (reads.write_ratio, reads.load, reads.consistency) == (0.0, True, "linearizable")


def test_markdown_table_has_a_column_per_client_count() -> None:
    def row(protocol: str, operation: str, clients: int, ops: float) -> MatrixRow:
        return MatrixRow(
            protocol=protocol,
            operation=operation,
            clients=clients,
            throughput_ops_s=ops,
            p50_ms=0.512,
            p99_ms=12.34,
            errors=0,
            linearizable=True,
        )

    table = markdown_table(
        [
            row("fast", "writes", 1, 1234.4),
            row("fast", "writes", 16, 5000),
            row("http", "reads", 1, 9),
        ]
    )
    lines = table.splitlines()
    assert lines[0] == "| protocol | operation, ops/s (p50 / p99 ms) | 1 client | 16 clients |"
    assert lines[2] == "| fast | writes | 1,234 (0.51 / 12.3) | 5,000 (0.51 / 12.3) |"
    assert lines[3] == "| http | linearizable reads | 9 (0.51 / 12.3) | - |"


def test_the_cli_refuses_bad_knobs_before_touching_a_cluster(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pyxos.cli.main import main

    assert main(["bench", "run", "-W", "2", "--endpoints", "127.0.0.1:1"]) == 2
    assert "-W (write ratio) must be in [0, 1]" in capsys.readouterr().err
    assert main(["bench", "matrix", "--protocols", "fast,smoke"]) == 2
    assert "--protocols: choose from fast, http" in capsys.readouterr().err


def test_the_last_partial_interval_shows_no_false_drop() -> None:
    t = Timeline(0.5)
    for i in range(23):  # 10 operations a second for 2.3 s
        t.record_us(i / 10 + 0.01, 1000)
    assert [p.ops_per_s for p in t.points()][-1] == 6.0  # 3 operations over a whole 0.5 s
    points = t.points(end_s=2.3)  # the run ended 0.3 s into its last interval
    assert [p.ops_per_s for p in points] == pytest.approx([10.0] * 5)
    # A sliver of an interval at the end is too short to say anything: left out.
    sliver = Timeline(0.5)
    for i in range(21):
        sliver.record_us(i / 10 + 0.01, 1000)
    assert [p.at_s for p in sliver.points(end_s=2.05)] == [0.0, 0.5, 1.0, 1.5]


def test_the_plot_labels_latency_in_plain_milliseconds_and_keeps_p99_apart_from_max() -> None:
    from matplotlib import pyplot as plt

    points = [
        TimelinePoint(
            at_s=i / 2, ops_per_s=100.0, p50_ms=0.4, p99_ms=3.0, max_ms=3.0 + 40 * (i % 2)
        )
        for i in range(10)
    ]
    figure = draw(points, "title")
    try:
        figure.canvas.draw()
        top = figure.axes[0]
        labels = [t.get_text() for t in top.get_yticklabels() if t.get_text()]
        assert labels and all(re.fullmatch(r"\d+(\.\d+)?", label) for label in labels), labels
        assert {"0.5", "1", "2", "5", "10", "20"} <= set(labels)
        assert all(t.get_text() == "" for t in top.get_yticklabels(minor=True))
        lines = {line.get_label(): line for line in top.get_lines()}
        # Where p99 meets max it is drawn over it, and the two never look alike.
        assert lines["p99"].get_zorder() > lines["max"].get_zorder()
        assert lines["p99"].get_linestyle() != lines["max"].get_linestyle()
        assert lines["p99"].get_color() != lines["max"].get_color()
    finally:
        plt.close(figure)
    assert plain_ms(0.05) == "0.05" and plain_ms(2.0) == "2" and plain_ms(5000.0) == "5000"
