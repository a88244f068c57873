"""latency.png: latency percentiles and throughput over the run, drawn with matplotlib (Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pyxos.bench.latency import TimelinePoint


def write_plot(points: Sequence[TimelinePoint], title: str, path: Path) -> None:
    """Draw p50, p99 and max latency (log scale) above throughput, against time, into `path`."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to the file
    from matplotlib import pyplot as plt
    from matplotlib.ticker import ScalarFormatter

    times = [p.at_s for p in points]
    figure, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(9, 6), height_ratios=(2, 1), layout="constrained"
    )
    try:
        for label, values in (
            ("max", [p.max_ms for p in points]),
            ("p99", [p.p99_ms for p in points]),
            ("p50", [p.p50_ms for p in points]),
        ):
            top.plot(times, values, label=label, linewidth=1)
        if any(p.max_ms > 0 for p in points):
            top.set_yscale("log")
            top.yaxis.set_major_formatter(ScalarFormatter())
        top.set_ylabel("latency (ms)")
        top.legend(loc="upper right")
        top.grid(True, which="both", alpha=0.3)
        top.set_title(title, fontsize=9)
        bottom.plot(times, [p.ops_per_s for p in points], color="tab:green", linewidth=1)
        bottom.set_ylabel("ops/s")
        bottom.set_xlabel("time since the measured run began (s)")
        bottom.grid(True, alpha=0.3)
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
