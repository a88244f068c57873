"""The side-by-side run: one cluster per system, the same closed loop against each.

For each system in turn the driver starts its cluster in a temporary directory, then for each
of its protocols runs writes, then linearizable reads, at each client count: `Workload` with
a write ratio of 1 or 0 over 1,000 keys and 100-byte values, `warmup_s` then `seconds` of
measurement. Before a protocol's first reads the keys are loaded, so that every read finds a
value. The members' CPU time (and this process's) is read when the warm-up ends and when the
run has ended; their difference over the operations that succeeded after the warm-up is the
CPU per operation. The PySyncObj adapter restarts its members between its two protocols
(batching is a start-up setting). A cluster is stopped before the next system starts, so that
systems never share the machine with each other.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyxos.bench.latency import throughput
from pyxos.bench.options import BenchOptions
from pyxos.bench.peers.cluster import Cluster
from pyxos.bench.peers.cpu import cpu_seconds, own_cpu_seconds
from pyxos.bench.peers.etcd_adapter import EtcdCluster
from pyxos.bench.peers.pysyncobj_adapter import PySyncObjCluster
from pyxos.bench.peers.pyxos_adapter import PyxosCluster
from pyxos.bench.peers.table import PeerRow, median_row
from pyxos.bench.run import run_sync
from pyxos.bench.workload import Workload

SYSTEMS = ("pyxos", "etcd", "pysyncobj")
OPERATIONS = ("writes", "reads")
KEY_PREFIX = "k"
LOAD_CLIENTS = 16

_STARTERS: dict[str, Callable[[Path], Cluster]] = {
    "pyxos": PyxosCluster.start,
    "etcd": EtcdCluster.start,
    "pysyncobj": PySyncObjCluster.start,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerOptions:
    systems: tuple[str, ...] = SYSTEMS
    protocols: tuple[str, ...] = ()
    """Only these protocols (empty: every protocol of each system)."""
    operations: tuple[str, ...] = OPERATIONS
    clients: tuple[int, ...] = (1, 16, 64)
    seconds: float = 5.0
    warmup_s: float = 1.0
    repeat: int = 1
    """Runs per point; the one with the median throughput is kept."""
    keys: int = 1000
    value_bytes: int = 100
    timeout_s: float = 5.0

    def validate(self) -> PeerOptions:
        """Self, or `ValueError` naming the first bad field."""
        unknown = [s for s in self.systems if s not in SYSTEMS]
        problems = [
            (not self.systems or bool(unknown), f"--systems: choose from {', '.join(SYSTEMS)}"),
            (
                not self.operations or any(o not in OPERATIONS for o in self.operations),
                f"--operations: choose from {', '.join(OPERATIONS)}",
            ),
            (not self.clients or min(self.clients) < 1, "--clients: positive counts"),
            (self.seconds <= 0, "--seconds must be positive"),
            (self.warmup_s < 0, "--warmup must not be negative"),
            (self.repeat < 1, "--repeat must be at least 1"),
        ]
        for bad, message in problems:
            if bad:
                raise ValueError(message)
        return self


@contextmanager
def running(system: str) -> Iterator[Cluster]:
    """`system`'s cluster in a fresh temporary directory, stopped and deleted afterwards.
    Raises `StartFailedError` or `TimeoutError` if it does not come up."""
    with tempfile.TemporaryDirectory(prefix=f"pyxos-peers-{system}-") as tmp:
        cluster = _STARTERS[system](Path(tmp))
        try:
            yield cluster
        finally:
            cluster.stop()


async def measure(
    cluster: Cluster, protocol: str, operation: str, clients: int, options: PeerOptions
) -> PeerRow:
    """One run of one point; the keys must already be loaded for reads."""
    bench = BenchOptions(
        duration_s=options.warmup_s + options.seconds,
        warmup_s=options.warmup_s,
        keys=options.keys,
        value_bytes=options.value_bytes,
        concurrency=clients,
        write_ratio=1.0 if operation == "writes" else 0.0,
        timeout_s=options.timeout_s,
        check=False,
        key_prefix=KEY_PREFIX,
    )
    transport = cluster.transport(protocol, workers=clients, timeout_s=options.timeout_s)
    workload = Workload(bench, transport)
    try:
        run = asyncio.create_task(workload.run())
        await asyncio.sleep(options.warmup_s)
        server_before, client_before = cpu_seconds(cluster.pids), own_cpu_seconds()
        await run
        server_cpu = cpu_seconds(cluster.pids) - server_before
        client_cpu = own_cpu_seconds() - client_before
    finally:
        await transport.aclose()
    latency = workload.latency["put" if operation == "writes" else "get"].summary()
    return PeerRow(
        system=cluster.system,
        protocol=protocol,
        operation=operation,
        clients=clients,
        operations=workload.ok_measured,
        measured_s=round(workload.measured_s, 6),
        throughput_ops_s=round(throughput(workload.ok_measured, workload.measured_s), 1),
        p50_ms=latency.median_ms,
        p99_ms=latency.p99_ms,
        errors=sum(workload.errors.values()),
        server_cpu_s=round(server_cpu, 3),
        client_cpu_s=round(client_cpu, 3),
    )


async def load_keys(cluster: Cluster, protocol: str, options: PeerOptions) -> None:
    """Write every key once, so that the reads find values. Raises `RuntimeError` if some
    writes failed."""
    bench = BenchOptions(
        duration_s=1.0,
        keys=options.keys,
        value_bytes=options.value_bytes,
        concurrency=LOAD_CLIENTS,
        timeout_s=options.timeout_s,
        check=False,
        key_prefix=KEY_PREFIX,
    )
    transport = cluster.transport(protocol, workers=LOAD_CLIENTS, timeout_s=options.timeout_s)
    workload = Workload(bench, transport)
    try:
        await workload.load()
    finally:
        await transport.aclose()
    if workload.load_errors:
        raise RuntimeError(f"{cluster.system}: loading the keys failed: {workload.load_errors}")


def protocols_of(cluster: Cluster, options: PeerOptions) -> list[str]:
    """The protocols of `cluster` that `options` select, in the cluster's order."""
    return [p for p in cluster.protocols if not options.protocols or p in options.protocols]


async def measure_protocol(
    cluster: Cluster,
    protocol: str,
    options: PeerOptions,
    say: Callable[[str], None] = lambda line: None,
) -> list[PeerRow]:
    """Every point of `options` over one protocol of a prepared cluster, in table order."""
    rows = []
    for operation in options.operations:
        if operation == "reads":
            await load_keys(cluster, protocol, options)
        for clients in options.clients:
            runs = [
                await measure(cluster, protocol, operation, clients, options)
                for _ in range(options.repeat)
            ]
            row = median_row(runs)
            rows.append(row)
            say(describe(row))
    return rows


def measure_system(
    system: str, options: PeerOptions, say: Callable[[str], None] = lambda line: None
) -> list[PeerRow]:
    """Start `system`'s cluster and measure every selected protocol and point; stop it.
    Raises `StartFailedError` or `TimeoutError` if it does not come up, `RuntimeError` if
    loading the keys fails."""
    rows: list[PeerRow] = []
    with running(system) as cluster:
        say(f"{system}: 3 members up")
        for protocol in protocols_of(cluster, options):
            cluster.prepare(protocol)
            rows += run_sync(measure_protocol(cluster, protocol, options, say))
    return rows


def describe(row: PeerRow) -> str:
    return (
        f"{row.system} {row.protocol} {row.operation} x{row.clients}: "
        f"{row.throughput_ops_s:,.0f} ops/s, p50 {row.p50_ms:.2f} ms, p99 {row.p99_ms:.2f} ms, "
        f"server CPU {row.server_cpu_ms_per_op:.3f} ms/op, {row.errors} errors"
    )


def selected(systems: Sequence[str]) -> list[str]:
    """`systems` in the table's order (pyxos first: it is the reference)."""
    return [s for s in SYSTEMS if s in systems]
