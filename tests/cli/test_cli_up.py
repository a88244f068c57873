"""`pyxos up` prints every node's client endpoint, writes them (and fault injection) into the
cluster file, and the CLI reaches the cluster through them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_cluster import FAILOVER_DEADLINE_S, run_main

from pyxos.cli import kv_cmd, up_cmd
from pyxos.core.quorum import parse_quorums
from pyxos.runtime.config import load_config
from pyxos.runtime.ports import free_port_base


def test_up_prints_the_client_endpoints_and_kv_uses_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = free_port_base(3)
    data = tmp_path / "cluster"
    command = [sys.executable, "-m", "pyxos.cli.up_cmd", "--data-dir", str(data)]
    command += ["--base-port", str(base), "--fault-injection"]
    proc = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + 2 * FAILOVER_DEADLINE_S
        for line in proc.stdout:
            seen.append(line)
            if "Ctrl-C stops the cluster" in line or time.monotonic() > deadline:
                break
        text = "".join(seen)
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
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0


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
