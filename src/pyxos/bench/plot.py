"""latency.png: latency percentiles and throughput over the run, drawn with matplotlib (Agg).

Made to be read at a glance: the latency axis is logarithmic (a tail is orders of magnitude
above the median) but labelled in plain milliseconds (`0.5`, `1`, `2`, `5`, `10`, ...), never
`10^0`; p50 and p99 are solid lines and max a thin dashed one under them, so p99 stays visible
where it meets max (an interval with few operations has the same p99 and max); the timeline
ends where the measured run ended (`Timeline.points(end_s=...)`), so its last, partial
interval shows no drop that did not happen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pyxos.bench.latency import TimelinePoint

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# (label, colour, line style, width, drawing order): max under the percentiles.
SERIES = (
    ("max", "tab:gray", "--", 1.0, 1),
    ("p99", "tab:red", "-", 1.6, 2),
    ("p50", "tab:blue", "-", 1.6, 3),
)
LOG_TICKS = (1.0, 2.0, 5.0)


def plain_ms(value: float) -> str:
    """A tick label in plain numbers: 0.05, 0.5, 2, 10, 200, 5000."""
    if value >= 1:
        return f"{value:.0f}"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def write_plot(points: Sequence[TimelinePoint], title: str, path: Path) -> None:
    """Draw p50, p99 and max latency (log scale) above throughput, against time, into `path`."""
    from matplotlib import pyplot as plt

    figure = draw(points, title)
    try:
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)


def draw(points: Sequence[TimelinePoint], title: str) -> Figure:
    """The figure of `write_plot`; the caller closes it (`pyplot.close`)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to the file
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    times = [p.at_s for p in points]
    values = {
        "max": [p.max_ms for p in points],
        "p99": [p.p99_ms for p in points],
        "p50": [p.p50_ms for p in points],
    }
    figure, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(9, 6), height_ratios=(2, 1), layout="constrained"
    )
    for label, colour, style, width, order in SERIES:
        top.plot(
            times,
            values[label],
            label=label,
            color=colour,
            linestyle=style,
            linewidth=width,
            zorder=order,
        )
    if any(p.max_ms > 0 for p in points):
        top.set_yscale("log")
        top.yaxis.set_major_locator(LogLocator(base=10, subs=LOG_TICKS))
        top.yaxis.set_major_formatter(FuncFormatter(lambda v, _: plain_ms(v)))
        top.yaxis.set_minor_formatter(NullFormatter())
    top.set_ylabel("latency (ms)")
    top.legend(loc="upper right")
    top.grid(True, which="both", alpha=0.3)
    top.set_title(title, fontsize=9)
    bottom.plot(times, [p.ops_per_s for p in points], color="tab:green", linewidth=1.2)
    bottom.set_ylim(bottom=0)
    bottom.set_ylabel("operations/s")
    bottom.set_xlabel("seconds since the measured run began")
    bottom.grid(True, alpha=0.3)
    return figure
