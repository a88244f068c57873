"""`pyxos bench peers`: the side-by-side table (registered by `pyxos.cli.bench_cmd`).

pyxos bench peers [--systems pyxos,etcd,pysyncobj] [--clients 1,16,64] [--seconds S]
                  [--warmup S] [--repeat N] [--out report.json]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SYSTEMS = "pyxos,etcd,pysyncobj"
OPERATIONS = "writes,reads"


def add_parser(kinds: Any) -> None:
    """Add `peers` to `pyxos bench`'s subcommands."""
    p = kinds.add_parser(
        "peers",
        help="the same workload against pyxos, etcd and PySyncObj: a side-by-side table",
        description=(
            "Start a 3-member cluster of each system on loopback in turn (fsync on, or its "
            "equivalent), run writes and then linearizable reads with 1,000 keys and 100-byte "
            "values at each client count, and print throughput, p50 / p99 latency and CPU per "
            "operation, with ratios to pyxos over its fast protocol. etcd must be on PATH and "
            "PySyncObj in .venv-peers (`make compare` installs both)."
        ),
    )
    p.add_argument("--systems", default=SYSTEMS, help="comma-separated (all three)")
    p.add_argument("--protocols", default="", help="only these protocols, e.g. fast (all)")
    p.add_argument("--operations", default=OPERATIONS, help="comma-separated: writes, reads")
    p.add_argument("--clients", default="1,16,64", help="closed-loop client counts (1,16,64)")
    p.add_argument("--seconds", type=float, default=5.0, help="measured seconds per point (5)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds before each point (1)")
    p.add_argument("--repeat", type=int, default=1, help="runs per point, median kept (1)")
    p.add_argument("--out", type=Path, default=None, help="also write the rows to this JSON file")
    p.set_defaults(func=run_peers)


def _items(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def run_peers(args: argparse.Namespace) -> int:
    import msgspec

    from pyxos.bench.peers.driver import PeerOptions, measure_system, selected
    from pyxos.bench.peers.members import StartFailedError
    from pyxos.bench.peers.table import PeerRow, PeersReport, markdown_table

    try:
        options = PeerOptions(
            systems=_items(args.systems),
            protocols=_items(args.protocols),
            operations=_items(args.operations),
            clients=tuple(int(c) for c in _items(args.clients)),
            seconds=args.seconds,
            warmup_s=args.warmup,
            repeat=args.repeat,
        ).validate()
    except ValueError as exc:
        print(f"pyxos bench peers: error: {exc}", file=sys.stderr)
        return 2
    command = "pyxos " + shlex.join(sys.argv[1:])
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    print(f"{command}\nload average before: {_load(load_before)}")
    rows: list[PeerRow] = []
    failed: dict[str, str] = {}
    for system in selected(options.systems):
        try:
            rows += measure_system(system, options, say=print)
        except (StartFailedError, TimeoutError, RuntimeError) as exc:
            failed[system] = str(exc)
            print(f"{system}: not measured: {exc}", file=sys.stderr)
    load_after = os.getloadavg()
    print(f"load average after: {_load(load_after)}\n")
    print(markdown_table(rows))
    if args.out is not None:
        report = PeersReport(
            command=command,
            started_at=started_at,
            machine=machine(),
            load_average_before=load_before,
            load_average_after=load_after,
            rows=rows,
            failed=failed,
        )
        args.out.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n")
        print(f"\nrows in {args.out}")
    return 1 if failed else 0


def machine() -> dict[str, str]:
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return {
        "cpus": str(os.cpu_count()),
        "memory_gib": f"{memory_kib / 2**20:.1f}",
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)
