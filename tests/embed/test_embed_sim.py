"""The embedding tests' custom machine (`Ledger`) under the simulator, with its safety checkers
(values chosen once, applied prefixes agree, ballots never go back) and the key-value
linearizability checker on.

The simulated clients speak the key-value protocol only, so the ledger rides along: every
client command the store applies is also recorded in the ledger, under the command's
`(client_id, seq)`, through the same adapter an embedded node uses. Crashes, snapshots, torn
tails and catch-up by snapshot transfer all reach it. At the end every replica's ledger must be
the same, and no command may be in it twice (the session table's exactly-once, seen from a
machine the protocol knows nothing about).
"""

from __future__ import annotations

from random import Random

import msgspec
import pytest
from ledger import Ledger, Record

from pyxos.embed.events import Feed
from pyxos.embed.machine import MachineAdapter
from pyxos.machines.base import ApplyContext
from pyxos.machines.kv import KvMachine
from pyxos.machines.router import Router
from pyxos.node.node import Node
from pyxos.sim.options import draw_options
from pyxos.sim.runner import Simulation

_RECORD = msgspec.msgpack.Encoder()


class RecordingStore:
    """The key-value store, recording every client command it applies in a ledger too."""

    def __init__(self, ledger: MachineAdapter) -> None:
        self.kv = KvMachine()
        self.ledger = ledger

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        if ctx.client_id:
            self.ledger.apply(_RECORD.encode(Record(id=f"{ctx.client_id}.{ctx.seq}")), ctx)
        return self.kv.apply(op, ctx)

    def query(self, query: bytes) -> bytes:
        return self.kv.query(query)

    def snapshot(self) -> bytes:
        return self.kv.snapshot()

    def restore(self, data: bytes) -> None:
        self.kv.restore(data)


def machines() -> Router:
    ledger = MachineAdapter("ledger", Ledger(), Feed([]))
    return Router({"kv": RecordingStore(ledger), "ledger": ledger}, default="kv")


def ledger_of(node: object) -> Ledger:
    assert isinstance(node, Node) and isinstance(node.machine, Router)
    adapter = node.machine.machines["ledger"]
    assert isinstance(adapter, MachineAdapter) and isinstance(adapter.machine, Ledger)
    return adapter.machine


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_a_custom_machine_under_the_simulator(seed: int) -> None:
    sim = Simulation(draw_options(Random(seed), seed), machine_factory=machines)
    result = sim.run()
    assert result.ok, "\n".join(result.violations)
    ledgers = [ledger_of(host.node) for host in sim.hosts.values()]
    assert len({ledger.digest() for ledger in ledgers}) == 1, "the replicas' ledgers differ"
    counts = ledgers[0].counts
    assert counts, "no client command reached the ledger"
    assert set(counts.values()) == {1}, "a command was applied twice"
