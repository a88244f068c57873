"""The effect executor: outputs wait for the round that makes their records durable, rounds
run one at a time, and the runtime and the simulator run this same code."""

from __future__ import annotations

import ast
from pathlib import Path

from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.messages import ViewChange
from pyxos.core.multipaxos.records import Promised
from pyxos.core.snapshot import Snapshot
from pyxos.exec.executor import EffectExecutor, Emitted, Observed
from pyxos.exec.writer import WriteRound
from pyxos.node.io import Applied, Note, Persist, SaveSnapshot, Send

SRC = Path(__file__).resolve().parents[2] / "src" / "pyxos"


class Harness:
    def __init__(self) -> None:
        self.emitted: list[Emitted] = []
        self.observed: list[Observed] = []
        self.rounds: list[WriteRound] = []
        self.executor = EffectExecutor(
            emit=self.emitted.append, observe=self.observed.append, start_round=self.rounds.append
        )


def _send(view: int) -> Send:
    return Send(to=2, message=ViewChange(view=view))


PROMISE = Persist(records=(Promised(ballot=Ballot(1, 1)),))


def test_a_send_after_a_persist_waits_for_its_round() -> None:
    h = Harness()
    h.executor.execute([_send(1), PROMISE, _send(2)])
    assert h.emitted == [_send(1)]
    assert len(h.rounds) == 1
    h.executor.execute([_send(3)])  # a later step's output waits too
    assert h.emitted == [_send(1)]
    h.executor.round_done(h.rounds[0])
    assert h.emitted == [_send(1), _send(2), _send(3)]


def test_observations_are_not_gated() -> None:
    h = Harness()
    applied = Applied(slot=1, batch=())
    h.executor.execute([PROMISE, applied, Note(kind="k")])
    assert h.observed == [applied, Note(kind="k")]


def test_a_round_finishing_starts_the_next_with_what_came_meanwhile() -> None:
    h = Harness()
    h.executor.execute([PROMISE, _send(1)])
    second = Persist(records=(Promised(ballot=Ballot(2, 1)),))
    h.executor.execute([second, _send(2)])
    assert len(h.rounds) == 1  # one in flight at a time
    h.executor.round_done(h.rounds[0])
    assert h.emitted == [_send(1)]
    assert len(h.rounds) == 2 and h.rounds[1].records == second.records
    h.executor.round_done(h.rounds[1])
    assert h.emitted == [_send(1), _send(2)]


def test_a_snapshot_is_written_with_the_next_round_and_waits_for_a_tick_alone() -> None:
    h = Harness()
    snapshot = Snapshot(slot=3, promised=Ballot(1, 1), state=b"")
    h.executor.execute([SaveSnapshot(snapshot=snapshot)])
    assert h.rounds == []
    h.executor.want_all()
    assert [r.snapshots for r in h.rounds] == [(snapshot,)]


def test_stop_drops_what_the_gate_holds() -> None:
    h = Harness()
    h.executor.execute([PROMISE, _send(1), _send(2)])
    assert h.executor.stop() == 2
    h.executor.round_done(h.rounds[0])
    assert h.emitted == []


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_runtime_and_the_simulator_execute_effects_with_the_same_modules() -> None:
    runtime = _imports(SRC / "runtime" / "runner.py")
    sim = _imports(SRC / "sim" / "cluster.py")
    shared = {"pyxos.exec.executor", "pyxos.exec.turns", "pyxos.exec.writer"}
    assert shared <= runtime
    assert shared <= sim
    # And neither keeps a gate or a group-commit writer of its own.
    for layer in ("runtime", "sim", "storage"):
        for path in (SRC / layer).rglob("*.py"):
            text = path.read_text()
            assert "class EffectGate" not in text, path
            assert "class GroupCommit" not in text, path
