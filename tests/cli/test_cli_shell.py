"""`pyxos shell` driven through standard input against real clusters: Paxi's commands, the
consensus check, and crash with and without fault injection."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_cluster import FAILOVER_DEADLINE_S, ClientCluster, poll, run_main, started_cluster

from pyxos.cli import shell_cmd
from pyxos.cli.fault_cmd import call_faults


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientCluster]:
    with started_cluster(tmp_path_factory) as started:
        yield started


def shell(capsys: pytest.CaptureFixture[str], cluster: ClientCluster, script: str) -> list[str]:
    code, out, err = run_main(
        capsys, shell_cmd.main, "--config", str(cluster.config), stdin=script.encode()
    )
    assert (code, err) == (0, "")
    return out.splitlines()


def test_get_put_del_and_consensus(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    out = shell(
        capsys,
        cluster,
        "put color deep blue\nget color\n\nget nothing\ndel color\ndel color\nbogus\nget\nput x\n",
    )
    assert out == [
        "OK",
        "deep blue",
        "(absent)",
        "OK",
        "color: not found",
        "unknown command 'bogus'; try help",
        "usage: get KEY",
        "usage: put KEY VALUE",
    ]
    shell(capsys, cluster, "put agreed yes\n")

    def every_node_has_it() -> list[str] | None:
        out = shell(capsys, cluster, "consensus agreed\n")
        return out if out[-1] == "consensus: all nodes agree" else None

    out = poll("every node applied the write", every_node_has_it, FAILOVER_DEADLINE_S)
    assert out[:3] == ["node 1: yes", "node 2: yes", "node 3: yes"]


def test_commands_that_need_fault_injection_say_so(
    cluster: ClientCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    out = shell(
        capsys, cluster, "crash 2\ncrash 9\npartition 5 1\npartition 1 2 x\nexit\nget never\n"
    )
    off = "fault injection is off on node {}: start the cluster with `pyxos up --fault-injection`"
    assert out == [
        f"crash: {off.format(2)} (or fault_injection = true in its cluster file)",
        "no node 9 (members: 1, 2, 3)",
        f"partition: {off.format(1)} (or fault_injection = true in its cluster file)",
        "usage: partition SECONDS NODE [NODE ...]",
    ]
    assert cluster.procs[2].poll() is None
    out = shell(capsys, cluster, "help\nstatus\n")
    assert out[0].strip().startswith("get K")
    assert out[-4].split() == ["NODE", "ROLE", "LEADER", "APPLIED"]


def test_crash_with_fault_injection_and_consensus_without_the_node(
    tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    with started_cluster(tmp_path_factory, fault_injection=True) as cluster:
        shell(capsys, cluster, "put k v\n")
        out = shell(capsys, cluster, "partition 30 1\ncrash 2 30\npartition 5 1 2 3\n")
        assert out == [
            "nodes 1 cut off the others for 30s",
            "node 2 crashed for 30s: it neither talks nor serves, then comes back by itself",
            "partition: the isolated nodes must be some but not all of the members [1, 2, 3]",
        ]
        for k, kinds in ((1, ["partition"]), (2, ["partition", "crash"]), (3, ["partition"])):
            code, faults = call_faults(cluster.http[k], "GET", None)
            assert code == 200 and [f["kind"] for f in faults["faults"]] == kinds
        for k in (1, 2, 3):
            assert call_faults(cluster.http[k], "DELETE", None)[0] == 200
        out = shell(capsys, cluster, "crash 3\n")
        assert out == [
            "node 3 crashed; start it again with `pyxos node --config CLUSTER_FILE --id 3`"
        ]
        assert cluster.procs[3].wait(timeout=FAILOVER_DEADLINE_S) != 0
        assert shell(capsys, cluster, "get k\n") == ["v"]

        def two_agree() -> list[str] | None:
            out = shell(capsys, cluster, "consensus k\n")
            return out if out[-1] == "2 of 3 nodes answered; they agree" else None

        out = poll("the two live nodes agree", two_agree, FAILOVER_DEADLINE_S)
        assert out[2].startswith("node 3: no answer")


PROMPT = shell_cmd.PROMPT.encode()


def _terminal_session(cluster: ClientCluster, history: Path, lines: list[bytes]) -> bytes:
    """`pyxos shell` on a pseudo-terminal: each line typed once the prompt shows; all it
    printed."""
    main_fd, child_fd = os.openpty()
    command = [sys.executable, "-m", "pyxos", "shell", "--config", str(cluster.config)]
    proc = subprocess.Popen(
        command,
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        env={**os.environ, "PYXOS_HISTORY": str(history), "TERM": "xterm"},
    )
    os.close(child_fd)
    seen = b""
    deadline = time.monotonic() + FAILOVER_DEADLINE_S

    def read_until(done: Callable[[bytes], bool]) -> None:
        nonlocal seen
        while not done(seen):
            assert time.monotonic() < deadline, f"the shell stalled; it printed {seen!r}"
            if select.select([main_fd], [], [], 0.1)[0]:
                try:
                    chunk = os.read(main_fd, 4096)
                except OSError:  # the shell has exited and closed the terminal
                    return
                if not chunk:
                    return
                seen += chunk

    try:
        for line in lines:
            prompts = seen.count(PROMPT)
            read_until(lambda text, n=prompts: text.count(PROMPT) > n)
            os.write(main_fd, line)
        read_until(lambda text: False)  # to the end
        assert proc.wait(timeout=FAILOVER_DEADLINE_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main_fd)
    return seen


def test_a_terminal_gets_a_prompt_and_the_history_of_earlier_runs(
    cluster: ClientCluster, tmp_path: Path
) -> None:
    history = tmp_path / "history"
    first = _terminal_session(cluster, history, [b"put hk from-the-past\r", b"get hk\r", b"exit\r"])
    assert first.count(b"from-the-past") >= 2  # typed, then printed by `get hk`
    assert history.read_text().splitlines()[-2:] == ["put hk from-the-past", "get hk"]
    # A new run: the up arrow brings back the last command of the previous one.
    second = _terminal_session(cluster, history, [b"\x1b[A\r", b"exit\r"])
    assert b"get hk" in second and b"OK" not in second  # the get came back, not the put
    assert b"\nfrom-the-past\r\n" in second  # and ran
    assert history.read_text().splitlines()[-2:] == ["put hk from-the-past", "get hk"]
