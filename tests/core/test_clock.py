"""The leader clock continues the log's time across leaders and never goes backwards."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pyxos.core.clock import LeaderClock
from pyxos.core.commands import Command, batch_time


def test_a_new_leader_continues_from_the_highest_stamp_seen() -> None:
    clock = LeaderClock()
    clock.see(50_000)  # the old leader's last stamp, from another machine's clock
    clock.now_ms = 7  # this machine booted recently
    clock.start_term()
    assert clock.stamp() == 50_000
    clock.now_ms = 1_007
    assert clock.stamp() == 51_000  # advances at this machine's rate


def test_a_leader_whose_clock_is_far_ahead_does_not_jump_log_time() -> None:
    clock = LeaderClock()
    clock.see(1_000)
    clock.now_ms = 9_000_000
    clock.start_term()
    assert clock.stamp() == 1_000


@given(st.lists(st.tuples(st.integers(0, 10**9), st.booleans()), max_size=50))
def test_stamps_never_decrease_within_a_term(events: list[tuple[int, bool]]) -> None:
    clock = LeaderClock()
    clock.start_term()
    last = clock.stamp()
    for now, new_term in events:
        clock.now_ms = now  # a driver clock may even step back (it should not, but)
        if new_term:
            clock.see(last)
            clock.start_term()
        stamp = clock.stamp()
        assert stamp >= last
        last = stamp


def test_a_batch_time_is_its_last_command_stamp() -> None:
    assert batch_time(()) == 0
    batch = (Command(client_id=1, seq=1, op=b"", time_ms=5),)
    assert batch_time(batch) == 5


def test_a_driver_clock_that_jumps_moves_log_time_by_one_step_at_most() -> None:
    clock = LeaderClock(step_ms_max=40)
    clock.advance(1_000)
    clock.start_term()
    first = clock.stamp()
    clock.advance(1_010)
    assert clock.stamp() == first + 10  # ordinary ticks pass as they are
    clock.advance(1_010 + 3_600_000)  # the monotonic clock jumped by an hour
    assert clock.stamp() == first + 50
    clock.advance(1_020 + 3_600_000)
    assert clock.stamp() == first + 60
    clock.advance(0)  # and a clock that steps back moves nothing
    assert clock.stamp() == first + 60


def test_a_leader_whose_clock_jumps_does_not_end_a_lease_early() -> None:
    """A 20 s lease must not be granted to the next owner after 1 s of real time because the
    leader's monotonic clock jumped forward by an hour (it stamps log time, which the lock
    machine expires leases by)."""
    from random import Random

    from pyxos.core.config import ReplicaConfig
    from pyxos.core.io import Receive, Send, Tick
    from pyxos.core.multipaxos.replica import Replica

    r = Replica(ReplicaConfig(node_id=1, members=(1,), tick_ms=10), Random(0))
    # A cluster of one: its messages to itself come straight back, as a driver delivers them.
    pending = r.step(Tick(now_ms=10))
    while pending:
        effect = pending.pop(0)
        if isinstance(effect, Send):
            pending += r.step(Receive(sender=1, message=effect.message))
    assert r.is_leader
    before = r.log_time_ms
    r.step(Tick(now_ms=50 + 3_600_000))
    for t in range(1, 101):  # one more second of real time
        r.step(Tick(now_ms=50 + 3_600_000 + 10 * t))
    assert r.log_time_ms - before <= 1_000 + 4 * 10
