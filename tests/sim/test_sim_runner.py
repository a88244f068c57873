"""The runner end to end: a real run's bookkeeping, and fake nodes that break linearizability
and liveness to show that the runner reports them."""

from __future__ import annotations

from sim_fakes import FakeNode, factory, mute_factory

from pyxos.machines.base import ApplyContext
from pyxos.machines.kv import KvResult, encode_result
from pyxos.node.client_messages import ClientRead, ClientReply, ClientRequest, ReadReply
from pyxos.node.io import FromClient, NodeEffect, NodeInput, Reply
from pyxos.sim import run_seed
from pyxos.sim.options import expand_options
from pyxos.sim.result import coverage_counters
from pyxos.sim.runner import Simulation

QUIET = {
    "partition_episodes": 0,
    "crash_episodes": 0,
    "network_episodes": 0,
    "fault_phase_us": 1_000_000,
    "convergence_us_max": 1_000_000,
    "ops": 40,
}


class _Liar(FakeNode):
    """Answers every write at once (as if applied) and every read with "absent"."""

    def step(self, inp: NodeInput) -> list[NodeEffect]:
        if not isinstance(inp, FromClient):
            return []
        msg = inp.message
        if isinstance(msg, ClientRequest):
            result = self.machine.apply(msg.op, ApplyContext(1, 0))
            reply = ClientReply(client_id=msg.client_id, seq=msg.seq, result=result)
            return [Reply(to=inp.sender, message=reply)]
        assert isinstance(msg, ClientRead)
        stale = encode_result(KvResult(value=None))
        return [
            Reply(
                to=inp.sender,
                message=ReadReply(client_id=msg.client_id, read_id=msg.read_id, result=stale),
            )
        ]


def test_a_real_run_is_clean_and_its_books_balance() -> None:
    result = run_seed(11)
    assert result.violations == []
    stats = result.stats
    assert stats.ops_issued == stats.ops_completed == result.options.ops
    assert len(result.history) == result.options.ops
    assert all(op.complete is not None for op in result.history)
    assert stats.messages_delivered > 0 and stats.fault_events >= 10
    assert stats.events > stats.steps > 0
    assert tuple(result.coverage) == coverage_counters()
    assert stats.notes.get("leader", 0) >= 1


def test_the_runner_reports_a_history_that_is_not_linearizable() -> None:
    options = expand_options(3, **QUIET)
    result = Simulation(options, node_factory=factory(_Liar)).run()
    assert any(v.startswith("linearizability") for v in result.violations)
    assert result.counterexample is not None and "NOT LINEARIZABLE" in result.counterexample
    # The liar never logs anything, so the acknowledged writes are in no applied log either.
    assert any("is in no applied log" in v for v in result.violations)


def test_the_runner_reports_operations_that_never_complete() -> None:
    options = expand_options(3, **QUIET)
    result = Simulation(options, node_factory=mute_factory).run()
    assert result.violations
    assert all(v.startswith("liveness") for v in result.violations)
    assert result.stats.ops_completed == 0
