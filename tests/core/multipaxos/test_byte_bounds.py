"""Batches and catch-up replies are bounded in bytes, so no peer frame outgrows the limit."""

from __future__ import annotations

from pyxos.core.clock import LeaderClock
from pyxos.core.commands import Command
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot
from pyxos.core.io import Send
from pyxos.core.multipaxos.leader import Leader
from pyxos.core.multipaxos.learner import Learner
from pyxos.core.multipaxos.messages import Accept


def _command(seq: int, size: int) -> Command:
    return Command(client_id=7, seq=seq, op=b"x" * size)


def _accepts(leader: Leader) -> list[Accept]:
    sends = [e for e in leader.fill(tick=0) if isinstance(e, Send) and e.to == 1]
    return [s.message for s in sends if isinstance(s.message, Accept)]


def test_a_batch_stops_at_its_byte_bound_and_a_big_command_goes_alone() -> None:
    config = ReplicaConfig(node_id=1, members=(1, 2, 3), batch_bytes_max=1000)
    leader = Leader(config, Learner(), Ballot(1, 1), 0, LeaderClock())
    leader.prepared = True
    sizes = [400, 400, 400, 5000, 10, 10]
    leader.enqueue(tuple(_command(i + 1, size) for i, size in enumerate(sizes)))
    batches = [[len(c.op) for c in accept.batch] for accept in _accepts(leader)]
    assert batches == [[400, 400], [400], [5000], [10, 10]]


def test_a_catchup_reply_stops_at_its_byte_bound_but_carries_one_slot() -> None:
    learner = Learner()
    for slot in range(1, 6):
        learner.learn(slot, (_command(slot, 300),))
    assert [e.slot for e in learner.entries(1, 5, limit=64, bytes_max=700)] == [1, 2]
    assert [e.slot for e in learner.entries(1, 5, limit=64, bytes_max=10)] == [1]
    assert [e.slot for e in learner.entries(2, 5, limit=2, bytes_max=10**6)] == [2, 3]
