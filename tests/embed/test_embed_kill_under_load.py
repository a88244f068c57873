"""Three processes, each hosting an embedded node with a custom machine (`Ledger`) and client
tasks proposing to it, 10,000 acknowledged commands in all; the leader's process is killed with
SIGKILL a third of the way and restarted at half. At the end every replica holds the same
ledger, every acknowledged command is in it exactly once, and no command is in it twice.

Paced by counts, not by time: the test watches the acknowledgement files the processes append
to, and every wait polls with a deadline.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

# The runtime tests' polling helper lives in their directory (as the client tests use it).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runtime"))

from test_runtime_cluster import poll as runtime_poll

from pyxos.embed import local_cluster_toml

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
COMMANDS = 10_000
TASKS_PER_NODE = 6
IDS = (1, 2, 3)
DEADLINE_S = 90.0


def poll(what: str, check: Callable[[], T | None], deadline_s: float = DEADLINE_S) -> T:
    return runtime_poll(what, check, deadline_s)


class Processes:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.out = root / "out"
        self.out.mkdir()
        self.config = root / "cluster.toml"
        self.config.write_text(local_cluster_toml(3, root, timers={"snapshot_every_slots": 1500}))
        self.quota = -(-COMMANDS // len(IDS))
        self.procs: dict[int, subprocess.Popen[str]] = {}

    def start(self, k: int) -> None:
        (self.out / f"ready-{k}").unlink(missing_ok=True)
        command = [sys.executable, str(HERE / "ledger_node.py"), str(self.config), str(k)]
        command += [str(self.quota), str(TASKS_PER_NODE), str(self.out)]
        with open(self.root / f"node-{k}.log", "a") as log:
            self.procs[k] = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, text=True
            )
        poll(f"node {k} ready", lambda: self._alive(k) and (self.out / f"ready-{k}").exists())

    def _alive(self, k: int) -> bool:
        code = self.procs[k].poll()
        if code is not None:
            raise AssertionError(f"node {k} exited with {code}:\n{self.log(k)}")
        return True

    def kill(self, k: int) -> None:
        self.procs[k].send_signal(signal.SIGKILL)
        self.procs[k].wait(timeout=10)

    def acked(self, k: int) -> list[str]:
        path = self.out / f"acks-{k}"
        if not path.exists():
            return []
        # A line the kill cut short was never acknowledged to anyone.
        return [line[:-1] for line in path.read_text().splitlines(True) if line.endswith("\n")]

    def total_acked(self) -> int:
        return sum(len(self.acked(k)) for k in IDS)

    def leader(self) -> int | None:
        for k in IDS:
            role = self.out / f"role-{k}"
            if role.exists() and role.read_text() == "leader":
                return k
        return None

    def dumps(self, n: int) -> dict[int, dict[str, int]]:
        for k in IDS:
            assert self.procs[k].stdin is not None
            self.procs[k].stdin.write(f"dump {n}\n")  # type: ignore[union-attr]
            self.procs[k].stdin.flush()  # type: ignore[union-attr]
        paths = {k: self.out / f"dump-{k}-{n}" for k in IDS}
        poll("every node dumps its ledger", lambda: all(p.exists() for p in paths.values()))
        return {k: json.loads(p.read_text()) for k, p in paths.items()}

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.close()
        for k, proc in self.procs.items():
            assert proc.wait(timeout=30) == 0, self.log(k)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)

    def log(self, k: int) -> str:
        return (self.root / f"node-{k}.log").read_text()[-4000:]


def test_kill_a_process_under_load_every_acknowledged_command_applies_once(
    tmp_path: Path,
) -> None:
    procs = Processes(tmp_path)
    try:
        started = time.monotonic()
        for k in IDS:
            procs.start(k)
        poll("a third of the commands acknowledged", lambda: procs.total_acked() >= COMMANDS // 3)
        victim = poll("a leader", procs.leader)
        procs.kill(victim)
        (procs.out / f"role-{victim}").unlink()
        poll("half of the commands acknowledged", lambda: procs.total_acked() >= COMMANDS // 2)
        procs.start(victim)
        poll(
            "every process reaches its quota",
            lambda: all(procs._alive(k) and (procs.out / f"done-{k}").exists() for k in IDS),
        )
        acked = [cid for k in IDS for cid in procs.acked(k)]
        assert len(acked) >= COMMANDS
        assert len(set(acked)) == len(acked)

        # Linearizable reads on every node until they agree (a command still in flight when
        # its proposer gave up may be applied a little later, once, everywhere).
        attempt = 0

        def agreed() -> dict[str, int] | None:
            nonlocal attempt
            attempt += 1
            dumps = procs.dumps(attempt)
            return dumps[1] if dumps[1] == dumps[2] == dumps[3] else None

        ledger = poll("every replica holds the same ledger", agreed)
        twice = {cid: n for cid, n in ledger.items() if n != 1}
        assert twice == {}, f"applied more than once: {list(twice.items())[:10]}"
        lost = [cid for cid in acked if cid not in ledger]
        assert lost == [], f"acknowledged but not applied: {lost[:10]}"
        elapsed = time.monotonic() - started
        procs.stop()
        print(
            f"{len(acked)} acknowledged commands, {len(ledger) - len(acked)} more applied with "
            f"an unknown outcome, node {victim} killed and restarted, {elapsed:.1f}s"
        )
    finally:
        procs.close()
