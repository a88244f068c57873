"""One benchmark run from options to report: transport, load, run, history, check, files.

    report = run_sync(run_bench(options, ["127.0.0.1:9000"], out_dir=Path("out")))

With `out_dir`, the run leaves `report.json`, `history.jsonl` (the checker's format) and
`latency.png` there.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from pyxos.bench.fast import FastTransport
from pyxos.bench.http import HttpTransport
from pyxos.bench.latency import Histogram, throughput
from pyxos.bench.options import BenchOptions
from pyxos.bench.plot import write_plot
from pyxos.bench.progress import progress_bar
from pyxos.bench.report import BenchReport, CheckSummary, describe, to_json
from pyxos.bench.transport import OpFailed, Transport
from pyxos.bench.workload import Workload
from pyxos.check import check_history, dump_jsonl

T = TypeVar("T")

REPORT_FILE = "report.json"
HISTORY_FILE = "history.jsonl"
PLOT_FILE = "latency.png"


def make_transport(
    options: BenchOptions, endpoints: Sequence[str], *, connections: int = 1
) -> Transport:
    """The transport for `options.protocol` to `endpoints` (that protocol's addresses)."""
    if options.protocol == "http":
        return HttpTransport(
            endpoints,
            workers=options.concurrency,
            timeout_s=options.timeout_s,
            consistency=options.consistency,
        )
    return FastTransport(
        endpoints,
        workers=options.concurrency,
        connections=connections,
        timeout_s=options.timeout_s,
        consistency=options.consistency,
    )


def with_fresh_prefix(options: BenchOptions) -> BenchOptions:
    """`options` with a key prefix of its own if it has none, so that this run's keys start
    absent even in a cluster that earlier runs wrote to."""
    if options.key_prefix:
        return options
    return msgspec.structs.replace(options, key_prefix=f"b{secrets.token_hex(4)}-")


async def run_bench(
    options: BenchOptions,
    endpoints: Sequence[str],
    *,
    connections: int = 1,
    out_dir: Path | None = None,
    progress: bool = False,
    label: str = "bench",
    say: Callable[[str], None] = lambda line: None,
) -> BenchReport:
    """Run the benchmark `options` describe against `endpoints`; its report.

    Raises `OptionsError` for bad options and `RuntimeError` if the cluster does not answer a
    first read. Failed operations are counted in the report, never raised.
    """
    options = with_fresh_prefix(options.validate())
    transport = make_transport(options, endpoints, connections=connections)
    workload = Workload(options, transport)
    try:
        await _probe(transport, options)
        if options.load:
            say(f"loading {options.keys:,} keys ...")
            await workload.load()
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        cpu_before = time.process_time()
        async with progress_bar(workload, label, enabled=progress):
            await workload.run()
        client_cpu_s = time.process_time() - cpu_before
    finally:
        await transport.aclose()
    ops = workload.history.operations()
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / HISTORY_FILE).write_text(dump_jsonl(ops))
    check = None
    if options.check:
        say(f"checking {len(ops):,} operations for linearizability ...")
        began = time.perf_counter()
        result = check_history(ops, max_states=options.max_states)
        check = CheckSummary(
            ok=result.ok,
            undecided=result.undecided,
            operations=result.checked_ops,
            keys=result.keys,
            seconds=round(time.perf_counter() - began, 3),
            verdict=result.render(),
        )
    both = Histogram()
    both.add(workload.latency["get"])
    both.add(workload.latency["put"])
    report = BenchReport(
        options=options,
        endpoints=tuple(endpoints),
        started_at=started_at,
        measured_s=round(workload.measured_s, 6),
        operations=workload.ok_measured,
        throughput_ops_s=round(throughput(workload.ok_measured, workload.measured_s), 1),
        latency=both.summary(),
        reads=workload.latency["get"].summary(),
        writes=workload.latency["put"].summary(),
        errors=dict(sorted(workload.errors.items())),
        issued=workload.issued,
        client_cpu_s=round(client_cpu_s, 3),
        load_ops=workload.load_ops,
        load_s=round(workload.load_s, 6),
        load_errors=dict(sorted(workload.load_errors.items())),
        history_ops=len(ops),
        check=check,
        timeline=tuple(workload.timeline.points(end_s=workload.measured_s)),
    )
    if out_dir is not None:
        (out_dir / REPORT_FILE).write_bytes(to_json(report))
        write_plot(report.timeline, describe(options), out_dir / PLOT_FILE)
    return report


async def _probe(transport: Transport, options: BenchOptions) -> None:
    """Read one key outside the key space: a cluster that cannot answer it is not measured
    (every operation would fail at once, and the loop would spin on failures)."""
    try:
        await transport.get(0, f"{options.key_prefix}probe")
    except OpFailed as exc:
        raise RuntimeError(f"the cluster does not answer: {exc}") from None


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on a fresh event loop, uvloop's when it is installed (as the nodes do)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover (uvloop is installed wherever it builds)
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)
