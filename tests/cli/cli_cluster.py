"""The cluster the CLI tests run against: the client tests' `ClientCluster`, started once per
module (the CLI tests only read and write keys on it), and a way to run a command's `main`."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "client"))

from client_cluster import FAILOVER_DEADLINE_S, ClientCluster, poll

__all__ = ["FAILOVER_DEADLINE_S", "ClientCluster", "poll", "run_main", "started_cluster"]


@contextmanager
def started_cluster(
    factory: pytest.TempPathFactory, *, fault_injection: bool = False
) -> Iterator[ClientCluster]:
    cluster = ClientCluster(factory.mktemp("cluster"), fault_injection=fault_injection)
    try:
        cluster.start_all()
        cluster.settled()  # an election is over and known: commands answer at once
        yield cluster
    finally:
        cluster.close()


def run_main(
    capsys: pytest.CaptureFixture[str],
    main: Callable[[Sequence[str]], int],
    *argv: str,
    stdin: bytes = b"",
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> tuple[int, str, str]:
    """`(exit status, stdout, stderr)` of `main(argv)`, with `stdin` as standard input."""
    patch = monkeypatch or pytest.MonkeyPatch()
    patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    try:
        code = main(list(argv))
    finally:
        if monkeypatch is None:
            patch.undo()
    out, err = capsys.readouterr()
    return code, out, err
