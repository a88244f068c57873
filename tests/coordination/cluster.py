"""The coordination tests' cluster (the client tests' `ClientCluster`) and worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "client"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runtime"))

from client_cluster import FAILOVER_DEADLINE_S, ClientCluster, poll

__all__ = ["FAILOVER_DEADLINE_S", "ClientCluster", "Workers", "poll"]

WORKER = Path(__file__).resolve().parent / "worker.py"


class Workers:
    """Worker processes (`worker.py`), each writing its events to a file of its own."""

    def __init__(self, root: Path, config: Path, count: int, *extra: str) -> None:
        self.root = root
        self.names = [f"w{i}" for i in range(1, count + 1)]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        for name in self.names:
            with open(root / f"{name}.jsonl", "wb") as out, open(root / f"{name}.err", "wb") as err:
                command = [sys.executable, str(WORKER), "--config", str(config), "--name", name]
                self.procs[name] = subprocess.Popen(
                    [*command, *extra], stdin=subprocess.DEVNULL, stdout=out, stderr=err
                )

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for n in [name] if name else self.names:
            text = (self.root / f"{n}.jsonl").read_text()
            found += [json.loads(line) for line in text.splitlines() if line.endswith("}")]
        return sorted(found, key=lambda e: e["t"])

    def finished(self) -> bool:
        for name, proc in self.procs.items():
            code = proc.poll()
            if code is not None and code != 0:
                err = (self.root / f"{name}.err").read_text()[-3000:]
                raise AssertionError(f"worker {name} exited with {code}:\n{err}")
        return all(p.poll() == 0 for p in self.procs.values())

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def overlaps_ms(events: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """Where two workers believed they held the lock at once: from each grant to the worker's
    next release (sent) / refusal, pairs of such intervals of different workers that overlap,
    with the overlap in ms."""
    intervals: list[tuple[float, float, str]] = []
    open_at: dict[str, float] = {}
    for e in events:
        if e["event"] == "granted":
            open_at[e["name"]] = e["t"]
        elif e["event"] in ("releasing", "refused") and e["name"] in open_at:
            intervals.append((open_at.pop(e["name"]), e["t"], e["name"]))
    found = []
    for i, (a0, a1, a) in enumerate(intervals):
        for b0, b1, b in intervals[i + 1 :]:
            if a != b and min(a1, b1) > max(a0, b0):
                found.append((a, b, (min(a1, b1) - max(a0, b0)) * 1000))
    return found
