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
