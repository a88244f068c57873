"""kill -9 of a real writer process under group commit, and a failing fsync in one.

The writer is `python -m pyxos.storage.torture DIR`; it prints `ack N` once records up to N are
durable. Each cycle reads its output until a random number of acks arrived, kills it with
SIGKILL and starts it again; on start it recovers and checks the log (exit 2 if recovery fails)
and prints the highest record it found, which must never be below an acknowledged one. In a
fifth of the cycles the `torn_write` failpoint makes the writer kill itself halfway through a
write instead, so that the next start has a torn tail to repair. No sleeps: output is read
with a deadline.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from random import Random

import pytest

from pyxos.storage.errors import EXIT_STORAGE_FAILED
from pyxos.storage.wal import WriteAheadLog

CYCLES_PER_RUN = 55
RUNS = 4  # 4 x 55 = 220 cycles, in parallel under xdist
CYCLE_DEADLINE_S = 30.0


class ChildLines:
    """Lines of a child's stdout, read with a deadline (None at end of file)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self._fd = proc.stdout.fileno()
        self._buf = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)

    def next(self, deadline: float) -> str | None:
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("the writer said nothing before the deadline")
            if not self._selector.select(remaining):
                continue
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode()

    def close(self) -> None:
        self._selector.close()


def _start(directory: Path, failpoints: str | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PYXOS_FAILPOINTS"}
    if failpoints:
        env["PYXOS_FAILPOINTS"] = failpoints
    command = [sys.executable, "-m", "pyxos.storage.torture", str(directory)]
    command += ["--segment-bytes", "4096", "--snapshot-every", "250", "--window", "6"]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=open(directory.parent / "stderr.txt", "ab"),
        env=env,
    )


@pytest.mark.parametrize("run", range(RUNS))
def test_kill9_cycles_lose_no_acknowledged_record(tmp_path: Path, run: int) -> None:
    rng = Random(9000 + run)
    directory = tmp_path / "wal"
    acked = 0
    repairs = 0
    for cycle in range(CYCLES_PER_RUN):
        torn = rng.random() < 0.2
        proc = _start(directory, f"torn_write@{rng.randrange(10)}" if torn else None)
        lines = ChildLines(proc)
        deadline = time.monotonic() + CYCLE_DEADLINE_S
        try:
            first = lines.next(deadline)
            assert first is not None and first.startswith("open "), (
                f"cycle {cycle}: recovery failed (exit {proc.wait()}): "
                + (tmp_path / "stderr.txt").read_text()
            )
            recovered = int(first.split()[1])
            assert recovered >= acked, f"cycle {cycle}: acked {acked}, recovered {recovered}"
            repairs += int(first.split("repaired=")[1]) > 0
            # A torn cycle runs until the writer kills itself in the middle of a write.
            target = 1_000_000 if torn else rng.randrange(0, 21)
            seen = 0
            while seen < target:
                line = lines.next(deadline)
                if line is None:
                    break  # it killed itself at the torn_write failpoint
                kind, value = line.split()
                if kind == "ack":
                    assert int(value) > acked
                    acked = max(acked, int(value))
                    seen += 1
        finally:
            proc.kill()
            proc.wait()
            lines.close()
            assert proc.stdout is not None
            proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL, f"cycle {cycle}: exit {proc.returncode}"
    wal = WriteAheadLog(directory, segment_bytes_max=4096)
    loaded = wal.load()
    wal.close()
    assert acked > 0 and (loaded.records or loaded.snapshot is not None)
    assert repairs > 0, "no cycle exercised torn-tail repair"


def test_a_failed_fsync_stops_the_writer_and_nothing_after_it_is_acked(tmp_path: Path) -> None:
    directory = tmp_path / "wal"
    proc = _start(directory, "fsync_error@12")
    lines = ChildLines(proc)
    deadline = time.monotonic() + CYCLE_DEADLINE_S
    output = []
    try:
        while (line := lines.next(deadline)) is not None:
            output.append(line)
    finally:
        proc.wait(timeout=CYCLE_DEADLINE_S)
        lines.close()
        assert proc.stdout is not None
        proc.stdout.close()
    assert proc.returncode == EXIT_STORAGE_FAILED, output
    assert output[0] == "open 0 repaired=0"
    assert output[-1].startswith("fail "), output
    acks = [int(line.split()[1]) for line in output[1:-1] if line.startswith("ack ")]
    first_unacked = int(output[-1].split()[1])
    assert acks and max(acks) == first_unacked - 1
    assert all(line.startswith(("ack ", "snap ")) for line in output[1:-1])
    # Reopened without the failpoint: every acknowledged record is there.
    wal = WriteAheadLog(directory, segment_bytes_max=4096)
    loaded = wal.load()
    wal.close()
    slots = [getattr(r, "slot", None) for r in loaded.records]
    assert slots[: max(acks)] == list(range(1, max(acks) + 1))
