"""The progress bar shown while a run goes (rich, on standard error)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from pyxos.bench.workload import Workload

REFRESH_S = 0.25


@contextlib.asynccontextmanager
async def progress_bar(workload: Workload, label: str, *, enabled: bool) -> AsyncIterator[None]:
    """Show the run's progress (by time, or by operations under `-N` alone) while the body
    runs: operations, throughput so far and errors."""
    if not enabled:
        yield
        return
    options = workload.options
    by_time = options.duration_s > 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[ops]:>9,} ops {task.fields[rate]:>8,.0f}/s"),
        TextColumn("errors {task.fields[errors]:,}"),
    )
    with Progress(*columns, console=Console(stderr=True), refresh_per_second=4) as bar:
        task = bar.add_task(
            label,
            total=options.duration_s if by_time else options.operations,
            ops=0,
            rate=0.0,
            errors=0,
        )

        def update() -> None:
            elapsed = workload.elapsed_s()
            done = workload.finished
            bar.update(
                task,
                completed=min(elapsed, options.duration_s) if by_time else workload.issued,
                ops=done,
                rate=done / elapsed if elapsed > 0 else 0.0,
                errors=sum(workload.errors.values()),
            )

        async def follow() -> None:
            while True:
                update()
                await asyncio.sleep(REFRESH_S)

        follower = asyncio.create_task(follow())
        try:
            yield
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
            update()
