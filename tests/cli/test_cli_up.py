"""`pyxos up` prints every node's client endpoint, writes them (and fault injection) into the
cluster file, and the CLI reaches the cluster through them."""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cli_cluster import FAILOVER_DEADLINE_S, run_main

from pyxos.cli import kv_cmd, up_cmd
from pyxos.core.quorum import parse_quorums
from pyxos.runtime.config import load_config
from pyxos.runtime.ports import free_port_base

START_ATTEMPTS = 3


@contextmanager
def running_up(
    tmp_path: Path, command: Callable[[int], list[str]], **popen: Any
) -> Iterator[tuple[int, Path, list[str]]]:
    """`pyxos up`, `command(base_port)`, run in a new directory under `tmp_path` on free ports
    until it has printed its endpoints: `(base port, its directory, the lines it printed)`.
    Stopped with Ctrl-C (SIGINT) afterwards, which must end it cleanly. A port found free
    that another process takes before a node binds it makes the start fail: then it starts
    again on other ports, a few times."""
    for attempt in range(START_ATTEMPTS):
        base = free_port_base(3)
        where = tmp_path / f"up-{attempt}"
        where.mkdir()
        proc = subprocess.Popen(
            command(base),
            cwd=where,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            **popen,
        )
        assert proc.stdout is not None
        printed: list[str] = []
        deadline = time.monotonic() + 2 * FAILOVER_DEADLINE_S
        for line in proc.stdout:
            printed.append(line.rstrip("\n"))
            if "Ctrl-C stops the cluster" in line or time.monotonic() > deadline:
                break
        if printed and "Ctrl-C stops the cluster" in printed[-1]:
            break
        _, err = proc.communicate(timeout=30)
        if "address already in use" not in err or attempt == START_ATTEMPTS - 1:
            raise AssertionError(f"pyxos up did not start:\n{err}")
    try:
        yield base, where, printed
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0


def test_up_prints_the_client_endpoints_and_kv_uses_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def command(base: int) -> list[str]:
        up = [sys.executable, "-m", "pyxos.cli.up_cmd", "--data-dir", "cluster"]
        return [*up, "--base-port", str(base), "--fault-injection"]

    with running_up(tmp_path, command) as (base, where, printed):
        data = where / "cluster"
        text = "\n".join(printed)
        for k in range(3):
            assert f"client 127.0.0.1:{base + 1000 + k}" in text, text
        assert "fault injection is ON" in text
        config = load_config(data / "cluster.toml")
        assert config.fault_injection
        assert [spec.client.port for spec in config.nodes] == [base + 1000 + k for k in range(3)]
        endpoint = f"127.0.0.1:{base + 1000}"
        assert run_main(capsys, kv_cmd.main, "put", "k", "v", "--endpoints", endpoint)[0] == 0
        assert run_main(capsys, kv_cmd.main, "get", "k", "--config", str(data / "cluster.toml"))[
            :2
        ] == (0, "v\n")


def test_up_refuses_options_the_existing_cluster_file_contradicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "cluster.toml").write_text(
        'cluster = "c"\n[[nodes]]\nid = 1\npeer = "127.0.0.1:7000"\nhttp = "127.0.0.1:8000"\n'
    )
    code, _, err = run_main(
        capsys, up_cmd.main, "--data-dir", str(data), "--client-base-port", "9500"
    )
    assert code == 2
    assert "puts node 1's client port on 9000, not 9500" in err
    code, _, err = run_main(capsys, up_cmd.main, "--data-dir", str(data), "--fault-injection")
    assert code == 2
    assert "has fault injection off" in err


def test_up_writes_the_protocol_and_quorums_and_refuses_others_later(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "cluster"
    path = up_cmd.write_cluster_file(
        data,
        http_ports=range(8000, 8005),
        peer_ports=range(7000, 7005),
        client_ports=range(9000, 9005),
        quorums=parse_quorums("flexible:q1=4,q2=2"),
        thrifty=True,
    )
    config = load_config(path)
    assert config.quorums == parse_quorums("flexible:q1=4,q2=2") and config.thrifty
    assert config.replica_config(1).quorums.is_q2((1, 2))
    code, _, err = run_main(
        capsys, up_cmd.main, "--data-dir", str(data), "--quorums", "grid:zones=5,fz=1,fn=0"
    )
    assert code == 2
    assert "uses flexible:q1=4,q2=2 quorums, not grid:zones=5,fz=1,fn=0" in err
    code, _, err = run_main(
        capsys, up_cmd.main, "--data-dir", str(tmp_path / "new"), "--quorums", "flexible:q1=2,q2=1"
    )
    assert code == 2
    assert "phase-1 quorums of 2 and phase-2 quorums of 1 can be disjoint among 3" in err


def test_the_commands_up_prints_work_as_printed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYXOS_ENDPOINTS"}
    pyxos = str(Path(sys.executable).parent / "pyxos")

    def command(base: int) -> list[str]:
        return [pyxos, "up", "--base-port", str(base)]

    with running_up(tmp_path, command, env=env) as (base, where, printed):
        tried = itertools.takewhile(
            lambda line: line.startswith("  "), printed[printed.index("Try:") + 1 :]
        )
        commands = [line.strip() for line in tried]
        ours = [c for c in commands if c.startswith(pyxos)]
        assert [c.split()[1:3] for c in ours] == [["kv", "put"], ["kv", "get"], ["status"]]
        assert not any("--config" in c or "--endpoints" in c for c in ours)  # found by itself
        curl = shutil.which("curl")
        for printed_command in commands:
            if printed_command.startswith("curl") and curl is None:
                continue
            done = subprocess.run(
                shlex.split(printed_command),
                cwd=where,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, (printed_command, done.stdout, done.stderr)
            if printed_command.startswith(f"{pyxos} kv get"):
                assert done.stdout == "world\n"
        # The line for another directory names every client port.
        export = next(line for line in printed if "export PYXOS_ENDPOINTS=" in line)
        assert export.endswith(",".join(f"127.0.0.1:{base + 1000 + k}" for k in range(3)))
        assert f"The status page: http://127.0.0.1:{base}/" in printed
