"""Storage benchmark: the disk's fsync rate, group-commit throughput, and restart time.

    pyxos bench storage [--dir DIR] [--submitters 1,8,64] [--restart-records N]

`bench_storage` measures, in one run on one disk:

- the raw fsync rate: write 100 bytes and `fdatasync`, in a loop, for `fsync_seconds`;
- group commit: N submitters each hand over one ~100-byte record behind a barrier and wait for
  the gate to release their answer (a closed loop), for `commit_seconds`; records per second,
  syncs per second and batches per sync. They go through the nodes' own path: the effect
  executor (`pyxos.exec`), its group-commit writer, and the runtime's disk rounds in a worker
  thread (`pyxos.runtime.disk`);
- restart: the time `WriteAheadLog.load()` takes on a log of `restart_records` small records,
  without a snapshot, and with a snapshot covering 90% of them (the log below it deleted). The
  files were just written, so this is a warm page cache: it measures the scan and decode, not
  the disk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from pyxos.core.commands import Command
from pyxos.core.ids import Ballot
from pyxos.core.multipaxos import AcceptedValue
from pyxos.core.snapshot import Snapshot
from pyxos.exec.executor import EffectExecutor, Emitted
from pyxos.exec.writer import WriteRound
from pyxos.node.client_messages import ReadReply
from pyxos.node.io import Persist, Reply
from pyxos.runtime.disk import DiskRounds
from pyxos.storage.wal import WriteAheadLog
from pyxos.wire.log_frames import encode_record

BALLOT = Ballot(1, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitFigures:
    submitters: int
    records_per_s: float
    syncs_per_s: float
    batches_per_sync: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RestartFigures:
    records_written: int
    records_loaded: int
    log_bytes: int
    seconds: float
    snapshot_slot: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageBench:
    directory: str
    fsyncs_per_s: float
    commit: tuple[CommitFigures, ...]
    restart: tuple[RestartFigures, ...]
    record_bytes: int


def _record(slot: int, op_bytes: int) -> AcceptedValue:
    return AcceptedValue(
        slot=slot, ballot=BALLOT, batch=(Command(client_id=1, seq=slot, op=b"x" * op_bytes),)
    )


def measure_fsync_rate(directory: Path, *, seconds: float = 2.0) -> float:
    """fdatasyncs per second of 100-byte appends to one file in `directory`."""
    path = directory / "fsync-rate.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    data = b"x" * 100
    count = 0
    start = time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - start) < seconds:
            os.write(fd, data)
            os.fdatasync(fd)
            count += 1
    finally:
        os.close(fd)
        path.unlink()
    return count / elapsed


def measure_group_commit(
    directory: Path, *, submitters: int, seconds: float = 3.0, op_bytes: int = 70
) -> CommitFigures:
    """Closed loop: `submitters` each hand over one record and wait, until time is up."""
    return asyncio.run(_group_commit(directory, submitters, seconds, op_bytes))


async def _group_commit(
    directory: Path, submitters: int, seconds: float, op_bytes: int
) -> CommitFigures:
    log_dir = directory / f"commit-{submitters}"
    wal = WriteAheadLog(log_dir)
    wal.load()
    loop = asyncio.get_running_loop()
    waiting: dict[int, asyncio.Future[None]] = {}

    def emit(effect: Emitted) -> None:
        future = waiting.pop(effect.to, None)
        if future is not None:
            future.set_result(None)

    def failed(exc: BaseException) -> None:
        for future in waiting.values():
            future.set_exception(exc)

    def done(round_: WriteRound) -> None:
        executor.round_done(round_)

    disk = DiskRounds(wal, done=done, on_failure=failed)
    executor = EffectExecutor(emit=emit, observe=lambda _: None, start_round=disk.start)
    counts = [0] * submitters
    stop = time.perf_counter() + seconds

    async def submitter(index: int) -> None:
        slot = index * 10_000_000
        answer = Reply(to=index, message=ReadReply(client_id=index, read_id=0, result=b""))
        while time.perf_counter() < stop:
            slot += 1
            future = waiting[index] = loop.create_future()
            executor.execute([Persist(records=(_record(slot, op_bytes),)), answer])
            await future
            counts[index] += 1

    start = time.perf_counter()
    await asyncio.gather(*(submitter(i) for i in range(submitters)))
    elapsed = time.perf_counter() - start
    await disk.drain()
    wal.close()
    shutil.rmtree(log_dir)
    syncs = disk.counters.syncs
    return CommitFigures(
        submitters=submitters,
        records_per_s=sum(counts) / elapsed,
        syncs_per_s=syncs / elapsed,
        batches_per_sync=disk.counters.records_synced / syncs if syncs else 0.0,
    )


def measure_restart(
    directory: Path, *, records: int, snapshot_fraction: float | None
) -> RestartFigures:
    """Write `records` small records (a snapshot after `snapshot_fraction` of them, if given),
    then time a fresh `load()`."""
    log_dir = directory / f"restart-{snapshot_fraction}"
    wal = WriteAheadLog(log_dir)
    wal.load()
    snapshot_slot = None if snapshot_fraction is None else int(records * snapshot_fraction)
    # As a node would: the snapshot is installed when the log reaches its slot.
    bounds = [1, records + 1] if snapshot_slot is None else [1, snapshot_slot + 1, records + 1]
    for low, high in pairwise(bounds):
        for first in range(low, high, 10_000):
            wal.append([_record(s, 8) for s in range(first, min(first + 10_000, high))])
        if snapshot_slot is not None and high == snapshot_slot + 1:
            wal.install_snapshot(Snapshot(slot=snapshot_slot, promised=BALLOT, state=b""))
    wal.sync()
    wal.close()
    log_bytes = sum(p.stat().st_size for p in log_dir.glob("wal-*.log"))
    start = time.perf_counter()
    wal = WriteAheadLog(log_dir)
    loaded = wal.load()
    seconds = time.perf_counter() - start
    wal.close()
    shutil.rmtree(log_dir)
    return RestartFigures(
        records_written=records,
        records_loaded=len(loaded.records),
        log_bytes=log_bytes,
        seconds=seconds,
        snapshot_slot=snapshot_slot,
    )


def bench_storage(
    directory: Path | str | None = None,
    *,
    submitters: Sequence[int] = (1, 8, 64),
    fsync_seconds: float = 2.0,
    commit_seconds: float = 3.0,
    restart_records: int = 1_000_000,
) -> StorageBench:
    """Run the three measurements in a fresh temporary directory under `directory` (default:
    the system temp dir, which must be on the disk you mean to measure)."""
    work = Path(tempfile.mkdtemp(prefix="pyxos-bench-", dir=directory))
    try:
        fsyncs = measure_fsync_rate(work, seconds=fsync_seconds)
        commit = tuple(
            measure_group_commit(work, submitters=n, seconds=commit_seconds) for n in submitters
        )
        restart = tuple(
            measure_restart(work, records=restart_records, snapshot_fraction=fraction)
            for fraction in (None, 0.9)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return StorageBench(
        directory=str(work.parent),
        fsyncs_per_s=fsyncs,
        commit=commit,
        restart=restart,
        record_bytes=len(encode_record(_record(1, 70))),
    )


def format_storage_bench(result: StorageBench) -> str:
    lines = [
        f"storage benchmark in {result.directory}",
        "",
        f"raw fsync rate (100-byte write + fdatasync): {result.fsyncs_per_s:,.0f} /s",
        "",
        f"group commit, {result.record_bytes}-byte records, closed loop:",
        f"{'submitters':>12}  {'records/s':>10}  {'syncs/s':>8}  {'batches/sync':>12}",
    ]
    for c in result.commit:
        lines.append(
            f"{c.submitters:>12}  {c.records_per_s:>10,.0f}  {c.syncs_per_s:>8,.0f}  "
            f"{c.batches_per_sync:>12.1f}"
        )
    lines += ["", "restart (open + scan + decode, warm page cache):"]
    lines.append(
        f"{'records':>10}  {'snapshot':>10}  {'loaded':>10}  {'log MB':>7}  {'seconds':>8}"
    )
    for r in result.restart:
        snap = "none" if r.snapshot_slot is None else f"at {r.snapshot_slot:,}"
        lines.append(
            f"{r.records_written:>10,}  {snap:>10}  {r.records_loaded:>10,}  "
            f"{r.log_bytes / 1e6:>7.1f}  {r.seconds:>8.2f}"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxos bench storage")
    parser.add_argument("--dir", default=None, help="where to write (default: system temp)")
    parser.add_argument(
        "--submitters",
        default="1,8,64",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        help="comma-separated submitter counts (default 1,8,64)",
    )
    parser.add_argument("--restart-records", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    result = bench_storage(
        args.dir, submitters=args.submitters, restart_records=args.restart_records
    )
    sys.stdout.write(format_storage_bench(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
