"""The embedding tests' custom machine (`Ledger`) under the simulator, with its safety checkers
(values chosen once, applied prefixes agree, ballots never go back) and the key-value
linearizability checker on.

The simulated clients speak the built-in machines' protocols only, so the ledger rides along:
every client command the built-in machines apply is also recorded in the ledger, under the command's
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
from pyxos.machines.catalog import build_machines
from pyxos.machines.router import Router
from pyxos.node.node import Node
from pyxos.sim.options import draw_options
from pyxos.sim.runner import Simulation

_RECORD = msgspec.msgpack.Encoder()


class RecordingRouter(Router):
    """The built-in machines, recording every client command they apply in a ledger too."""

    def __init__(self) -> None:
        self.ledger = MachineAdapter("ledger", Ledger(), Feed([]))
        super().__init__({**build_machines().machines, "ledger": self.ledger}, default="kv")

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        if ctx.client_id:
            self.ledger.apply(_RECORD.encode(Record(id=f"{ctx.client_id}.{ctx.seq}")), ctx)
        return super().apply(op, ctx)


def ledger_of(node: object) -> Ledger:
    assert isinstance(node, Node) and isinstance(node.machine, Router)
    adapter = node.machine.machines["ledger"]
    assert isinstance(adapter, MachineAdapter) and isinstance(adapter.machine, Ledger)
    return adapter.machine


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_a_custom_machine_under_the_simulator(seed: int) -> None:
    sim = Simulation(draw_options(Random(seed), seed), machine_factory=RecordingRouter)
    result = sim.run()
    assert result.ok, "\n".join(result.violations)
    ledgers = [ledger_of(host.node) for host in sim.hosts.values()]
    assert len({ledger.digest() for ledger in ledgers}) == 1, "the replicas' ledgers differ"
    counts = ledgers[0].counts
    assert counts, "no client command reached the ledger"
    assert set(counts.values()) == {1}, "a command was applied twice"
