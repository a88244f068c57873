"""`pyxos chaos`: a workload under a schedule of faults on a real local cluster, then checks.

Theory of operation. A temporary 3-node cluster (or `nodes` in `zones` zones, running the
chosen protocol with its options) starts with fault injection on (node logs and
data under `<out>/cluster`). The workload (`chaos.workload`) runs throughout, recording its
history. The schedule (`chaos.schedule`, from the seed) is played one step at a time: a quiet
`settle_s`, the fault for its duration, then a heal of everything and a wait until a write
commits again (the time to serve, which must stay under `serve_deadline_s`) and every node
answers. Then the workload stops, every key is read through every node, every acknowledged
`ack/` key is read back, the nodes are given time to apply the same prefix, and their
committed logs are compared (each object's log on its own under a protocol with a log per
object: `chaos.object_logs`). `Verdict` turns all of it into PASS or FAIL.

Artifacts in `out`: `history.jsonl` (pyxos check history format), `timeline.jsonl` (one JSON
object per schedule step, fault, heal and recovery, with `t_s` since the start),
`verdict.txt`, `summary.json`, and `cluster/` (cluster file, node logs, node data).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

import aiohttp

from pyxos.chaos.cluster import NODE_MODULE, LocalCluster
from pyxos.chaos.injector import Injector
from pyxos.chaos.object_logs import check_object_logs
from pyxos.chaos.schedule import FAULT_S_MAX, FAULT_S_MIN, SETTLE_S, STEP_KINDS, make_schedule
from pyxos.chaos.verdict import Verdict
from pyxos.chaos.workload import KEYS, Workload
from pyxos.check.history import dump_jsonl
from pyxos.check.linearizability import check_history
from pyxos.check.logs import check_log_prints
from pyxos.client import AsyncClient, PyxosError
from pyxos.core.protocol import ExecutionOrder
from pyxos.core.protocols import DEFAULT_PROTOCOL, protocol_spec
from pyxos.core.quorum import MAJORITY, QuorumSpec

RECOVERY_DEADLINE_S = 30.0
CONVERGE_DEADLINE_S = 30.0
FINAL_TIMEOUT_S = 10.0
READ_BACK_CONCURRENCY = 32
POLL_S = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class ChaosOptions:
    out: Path
    duration_s: float = 300.0
    seed: int = 1
    kinds: tuple[str, ...] = STEP_KINDS
    workers: int = 4
    rate_per_s: float = 100.0
    serve_deadline_s: float = 5.0
    fault_s_min: float = FAULT_S_MIN
    fault_s_max: float = FAULT_S_MAX
    settle_s: float = SETTLE_S
    planted_bug: str | None = None
    nodes: int = 3
    protocol: str = DEFAULT_PROTOCOL
    quorums: QuorumSpec = MAJORITY
    thrifty: bool = False
    zones: int | None = None
    options: tuple[tuple[str, str], ...] = ()


class Timeline:
    """`timeline.jsonl`, written as the run goes (so a run that dies still leaves it)."""

    def __init__(self, path: Path, start: float) -> None:
        self._path = path
        self._start = start
        path.write_text("")

    def add(self, event: str, **fields: Any) -> None:
        record = {"t_s": round(time.monotonic() - self._start, 3), "event": event, **fields}
        with self._path.open("a") as f:
            f.write(json.dumps(record) + "\n")


async def run_chaos(options: ChaosOptions, *, echo: Callable[[str], None] = print) -> Verdict:
    """Run the whole experiment; the verdict (also written to `options.out`)."""
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    schedule = make_schedule(
        options.seed,
        options.duration_s,
        kinds=options.kinds,
        fault_s_min=options.fault_s_min,
        fault_s_max=options.fault_s_max,
        settle_s=options.settle_s,
    )
    started = time.monotonic()
    timeline = Timeline(out / "timeline.jsonl", started)
    timeline.add("schedule", seed=options.seed, steps=[s.describe() for s in schedule])
    shape: dict[str, Any] = {
        "size": options.nodes,
        "protocol": options.protocol,
        "quorums": options.quorums,
        "thrifty": options.thrifty,
        "zones": options.zones,
        "options": options.options,
    }
    if options.planted_bug is None:
        cluster = LocalCluster(out / "cluster", **shape)
    else:
        echo(f"TEST BUILD: nodes run with the planted bug {options.planted_bug}")
        cluster = LocalCluster(
            out / "cluster",
            node_module="pyxos.chaos.planted_bug",
            node_args=("--bug", options.planted_bug),
            **shape,
        )
    workload = Workload(
        clients=cluster.client,
        seed=options.seed,
        workers=options.workers,
        rate_per_s=options.rate_per_s,
    )
    serve_times: list[float | None] = []
    async with aiohttp.ClientSession() as session:
        injector = Injector(cluster, session, Random(options.seed))
        try:
            await cluster.start_all(session)
            first = await injector.time_to_serve(time.monotonic(), RECOVERY_DEADLINE_S)
            timeline.add("cluster_up", serving_after_s=first, config=str(cluster.config))
            echo(f"cluster up ({cluster.config}); {len(schedule)} faults planned")
            load = asyncio.create_task(workload.run())
            for number, step in enumerate(schedule, start=1):
                await asyncio.sleep(options.settle_s)  # the schedule's quiet time
                done = await injector.apply(step)
                timeline.add("fault", step=number, **done)
                echo(
                    f"fault {number}/{len(schedule)}: {step.kind} on node "
                    f"{cluster.name(done['node'])} "
                    f"({step.target}) for {step.duration_s} s"
                )
                await asyncio.sleep(step.duration_s)  # the fault lasts this long
                healed_at = time.monotonic()
                healed = await injector.heal()
                served = await injector.time_to_serve(healed_at, RECOVERY_DEADLINE_S)
                serve_times.append(served)
                timeline.add("heal", step=number, time_to_serve_s=served, **healed)
                echo(
                    "  healed; "
                    + ("NOT serving" if served is None else f"serving after {served:.2f} s")
                )
                await injector.wait_all_healthy(RECOVERY_DEADLINE_S)
            workload.stop()
            await load
            timeline.add("workload_stopped", **_stats(workload))
            await _final_reads(workload, cluster.client)
            lost = await _read_back(workload.acked, cluster.config)
            converged = await _converge(injector)
            timeline.add("converged", ok=converged)
            if protocol_spec(options.protocol).order is ExecutionOrder.PER_OBJECT:
                logs_ok, log_report = await check_object_logs(
                    session, cluster.http, members=len(cluster.ids), timeout_s=FINAL_TIMEOUT_S
                )
            else:
                logs = await _fetch_logs(injector)
                logs_ok, log_report = check_log_prints(logs, len(cluster.ids))
            if not converged:
                logs_ok = False
                log_report += "the nodes did not apply the same prefix in time\n"
            failures = injector.failures + [
                f"node {k} is not running at the end" for k in cluster.ids if not cluster.running(k)
            ]
        finally:
            workload.stop()
            cluster.close()
    echo(f"checking {len(workload.history)} operations...")
    result = check_history(workload.history)
    (out / "history.jsonl").write_text(dump_jsonl(workload.history))
    verdict = Verdict(
        seconds=time.monotonic() - started,
        steps=len(schedule),
        kinds=[s.kind for s in schedule],
        operations=len(workload.history),
        acked_writes=sum(
            1 for op in workload.history if op.kind != "get" and op.complete is not None
        ),
        unknown_writes=workload.stats.unknown,
        linearizability=result,
        lost_acks=lost,
        log_report=log_report,
        logs_ok=logs_ok,
        serve_times_s=serve_times,
        serve_deadline_s=options.serve_deadline_s,
        node_failures=failures,
    )
    timeline.add("verdict", **verdict.summary())
    (out / "verdict.txt").write_text(verdict.render())
    (out / "summary.json").write_text(json.dumps(verdict.summary(), indent=2) + "\n")
    return verdict


def _stats(workload: Workload) -> dict[str, int]:
    s = workload.stats
    return {"ok": s.ok, "unknown": s.unknown, "failed_reads": s.failed_reads}


async def _final_reads(workload: Workload, clients: Mapping[int, Any]) -> None:
    """Every shared key, read linearizably through every node, into the history: a lost or
    stale write shows up as a read the checker cannot place."""
    for node in sorted(clients):
        async with AsyncClient(
            [str(clients[node])], pinned=True, timeout_s=FINAL_TIMEOUT_S
        ) as client:
            for key in KEYS:
                await workload.record(client, 0, "get", key, None)


async def _read_back(acked: list[str], config: Path) -> list[str]:
    """The acknowledged `ack/` keys that are absent (or cannot be read) now."""
    lost: list[str] = []
    gate = asyncio.Semaphore(READ_BACK_CONCURRENCY)
    async with AsyncClient(config=config, timeout_s=FINAL_TIMEOUT_S) as client:

        async def check(key: str) -> None:
            async with gate:
                try:
                    value = await client.get(key)
                except PyxosError:
                    value = None
                if value is None:
                    lost.append(key)

        await asyncio.gather(*(check(key) for key in acked))
    return sorted(lost)


async def _converge(injector: Injector) -> bool:
    """Wait until every node has applied the same prefix; False at the deadline."""
    deadline = time.monotonic() + CONVERGE_DEADLINE_S
    while time.monotonic() < deadline:
        statuses = await asyncio.gather(*(injector.status(k) for k in injector.cluster.ids))
        applied = {s.get("applied_index") if s is not None else None for s in statuses}
        if len(applied) == 1 and None not in applied:
            return True
        await asyncio.sleep(POLL_S)
    return False


async def _fetch_logs(injector: Injector) -> dict[int, str]:
    logs: dict[int, str] = {}
    for k in injector.cluster.ids:
        try:
            async with injector.session.get(
                f"http://{injector.cluster.http[k]}/log/print/dump",
                timeout=aiohttp.ClientTimeout(total=FINAL_TIMEOUT_S),
            ) as r:
                if r.status == 200:
                    logs[k] = await r.text()
        except (aiohttp.ClientError, OSError, TimeoutError):
            pass
    return logs


__all__ = ["NODE_MODULE", "ChaosOptions", "Timeline", "run_chaos"]
