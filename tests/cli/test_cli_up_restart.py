"""`pyxos up` says how to restart a node that died, and the command it prints works: the node
comes back, rejoins and serves again."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cli_cluster import FAILOVER_DEADLINE_S, poll

from pyxos.runtime.ports import free_port_base


def _stop(proc: subprocess.Popen[str], signum: int) -> None:
    if proc.poll() is None:
        proc.send_signal(signum)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_until(proc: subprocess.Popen[str], marker: str, seen: list[str]) -> str:
    """The stdout of `proc` up to the line that holds `marker` (it must come in time)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + 2 * FAILOVER_DEADLINE_S
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            return line
        assert time.monotonic() < deadline, "".join(seen)
    raise AssertionError(f"no {marker!r} in:\n{''.join(seen)}")


def _get(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            answer: dict[str, object] = json.loads(r.read())
            return answer
    except OSError:
        return None


def test_up_prints_the_command_that_restarts_a_dead_node(tmp_path: Path) -> None:
    base = free_port_base(3)
    data = tmp_path / "cluster"
    command = [sys.executable, "-m", "pyxos.cli.up_cmd", "--data-dir", str(data)]
    command += ["--base-port", str(base), "--fault-injection"]
    up = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    restarted: subprocess.Popen[str] | None = None
    seen: list[str] = []
    try:
        _read_until(up, "Ctrl-C stops the cluster", seen)
        node1, node3 = f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 2}"
        put = urllib.request.Request(f"{node1}/v1/kv/k", data=b"v", method="PUT")
        with urllib.request.urlopen(put, timeout=10) as r:
            assert r.status == 200
        with urllib.request.urlopen(f"{node3}/crash", timeout=10) as r:  # it exits at once
            assert json.loads(r.read())["exit_status"] == 75
        said = _read_until(up, "node 3 exited", seen)
        assert said.strip() == f"node 3 exited with status 75; its log: {data / 'node-3.log'}"
        restart = _read_until(up, "pyxos node", seen).strip()
        assert restart == f"pyxos node --config {data / 'cluster.toml'} --id 3"
        # Run it as printed (`pyxos` is the package's entry point: `python -m pyxos.cli.main`).
        argv = [sys.executable, "-m", "pyxos.cli.main", *shlex.split(restart)[1:]]
        with (tmp_path / "restarted.log").open("w") as log:
            restarted = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True)
        # It recovers its data from disk and serves again.
        stale = f"{node3}/v1/kv/k?consistency=stale"
        assert poll("node 3 serves its data", lambda: _get(stale), 30) == {"key": "k", "value": "v"}
    finally:
        if restarted is not None:
            _stop(restarted, signal.SIGTERM)
        _stop(up, signal.SIGINT)
    assert restarted.returncode == 0
    assert up.returncode == 0
