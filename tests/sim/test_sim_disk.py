"""The simulated disk: unsynced writes die with a crash, syncs complete in order, and in a run a
node's outputs after a `Persist` wait for the write round that makes it durable."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random

import pytest
from sim_fakes import factory

from pyxos.core import multipaxos
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.messages import Heartbeat
from pyxos.core.multipaxos.records import Promised, Record
from pyxos.node.io import NodeEffect, NodeInput, Persist, Send, Tick
from pyxos.sim.disk import SimDisk
from pyxos.sim.options import expand_options
from pyxos.sim.runner import Simulation


def _disk(low: int = 100, high: int = 100) -> SimDisk:
    return SimDisk(Random(3), latency_us_min=low, latency_us_max=high, protocol=multipaxos.SPEC)


def _promise(n: int) -> Promised:
    return Promised(ballot=Ballot(n, 1))


def test_crash_loses_exactly_the_unsynced_suffix() -> None:
    disk = _disk()
    disk.append([_promise(1), _promise(2)])
    sync_id, _ = disk.start_sync(0)
    assert disk.complete_sync(sync_id) == [_promise(1), _promise(2)]
    disk.append([_promise(3)])
    disk.start_sync(10)  # in flight when the crash comes: it never completes
    disk.append([_promise(4)])
    assert disk.crash() == 2
    assert disk.synced == (_promise(1), _promise(2))
    assert disk.unsynced_count == 0 and not disk.syncing


def test_syncs_complete_in_order_and_cover_what_was_written_before_them() -> None:
    disk = _disk(100, 2000)
    disk.append([_promise(1)])
    first, first_done = disk.start_sync(0)
    disk.append([_promise(2)])
    second, second_done = disk.start_sync(1)
    assert second_done >= first_done
    with pytest.raises(ValueError):
        disk.complete_sync(second)
    assert disk.complete_sync(first) == [_promise(1)]
    assert disk.complete_sync(second) == [_promise(2)]


def test_a_sync_with_nothing_new_makes_nothing_durable() -> None:
    disk = _disk()
    disk.append([_promise(1)])
    a, _ = disk.start_sync(0)
    b, _ = disk.start_sync(0)
    assert disk.complete_sync(a) == [_promise(1)]
    assert disk.complete_sync(b) == []


class _PersistThenSend:
    """A fake node: its first tick persists a promise and then sends a heartbeat to node 2;
    its second tick sends another heartbeat (which must also wait for the sync)."""

    def __init__(self, config: ReplicaConfig) -> None:
        self.node_id = config.node_id
        self.promised = Ballot(0, 0)
        self.applied_upto = 0
        self.is_leader = False
        self._ticks = 0

    def step(self, inp: NodeInput) -> list[NodeEffect]:
        if not isinstance(inp, Tick) or self.node_id != 1:
            return []
        self._ticks += 1
        beat = Heartbeat(ballot=Ballot(1, 1), commit_upto=0, read_round=self._ticks)
        if self._ticks == 1:
            return [Persist(records=(Promised(ballot=Ballot(1, 1)),)), Send(to=2, message=beat)]
        if self._ticks == 2:
            return [Send(to=2, message=beat)]
        return []


def test_sends_after_a_persist_wait_for_its_sync_in_the_runner() -> None:
    # A disk much slower than a tick, so that the second tick's send comes before the sync.
    options = expand_options(
        1,
        nodes=3,
        ops=0,
        disk_latency_us_min=50_000,
        disk_latency_us_max=50_000,
        partition_episodes=0,
        crash_episodes=0,
        network_episodes=0,
        fault_phase_us=100_000,
        convergence_us_max=0,
    )
    sim = Simulation(
        options,
        transcript=True,
        node_factory=factory(lambda config, machine: _PersistThenSend(config)),
    )
    result = sim.run()
    assert sim.transcript is not None
    lines = sim.transcript.lines
    persist = next(i for i, line in enumerate(lines) if "n1 write sync=1" in line)
    synced = next(i for i, line in enumerate(lines) if "n1 synced sync=1" in line)
    sends = [i for i, line in enumerate(lines) if "n1->n2" in line]
    assert len(sends) == 2
    assert persist < synced < sends[0] < sends[1]
    sync_time = int(lines[synced].split()[0])
    assert sync_time >= int(lines[persist].split()[0]) + 50_000
    assert all(int(lines[i].split()[0]) == sync_time for i in sends)
    assert result.stats.records_synced == 1


class _PersistEveryTick:
    """A fake node that persists one record per tick and remembers what it recovered."""

    recovered: list[tuple[Record, ...]] = []

    def __init__(self, config: ReplicaConfig, durable: Sequence[Record]) -> None:
        self.node_id = config.node_id
        self.promised = max(
            (r.ballot for r in durable if isinstance(r, Promised)), default=Ballot(0, 0)
        )
        self.applied_upto = 0
        self.is_leader = False
        self._ticks = len(durable)
        if config.node_id == 1:
            _PersistEveryTick.recovered.append(tuple(durable))

    def step(self, inp: NodeInput) -> list[NodeEffect]:
        if not isinstance(inp, Tick) or self.node_id != 1:
            return []
        self._ticks += 1
        return [Persist(records=(Promised(ballot=Ballot(self._ticks, 1)),))]


def test_a_restarted_node_recovers_exactly_its_synced_records() -> None:
    from pyxos.faults import Crash, Restart

    _PersistEveryTick.recovered = []
    options = expand_options(
        2,
        nodes=3,
        ops=0,
        tick_ms=10,
        disk_latency_us_min=25_000,
        disk_latency_us_max=25_000,
        partition_episodes=0,
        crash_episodes=0,
        network_episodes=0,
        fault_phase_us=300_000,
        convergence_us_max=0,
    )
    sim = Simulation(
        options,
        transcript=True,
        node_factory=lambda config, machine, rng, durable, snapshot, rejoining=False: (
            _PersistEveryTick(config, durable)
        ),
    )
    sim.schedule(100_000, Crash(node=1))
    sim.schedule(150_000, Restart(node=1))
    result = sim.run()
    assert result.ok, result.violations
    first_boot, restart = _PersistEveryTick.recovered
    assert first_boot == ()
    # Ticks every 10 ms from a phase below 10 ms, one write round at a time, each synced 25 ms
    # after it starts: rounds end near 25, 50 and 75 ms holding records 1, 2-3 and 4-5 (or
    # 4-6), and the one that would end near 100 ms dies with the crash. So of the ten records
    # written, only the first five or six were synced.
    assert [r.ballot.round for r in restart if isinstance(r, Promised)] == list(
        range(1, len(restart) + 1)
    )
    assert 5 <= len(restart) <= 6
    assert result.stats.records_lost >= 2
    assert any("n1 down: " in line for line in result.transcript or [])
