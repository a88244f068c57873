"""Group commit: what each write round holds, and when one starts."""

from __future__ import annotations

import pytest

from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.records import DecidedValue, Promised
from pyxos.core.snapshot import Snapshot
from pyxos.exec.writer import GroupCommit


def _promise(n: int) -> Promised:
    return Promised(ballot=Ballot(n, 1))


SNAP = Snapshot(slot=4, promised=Ballot(1, 1), state=b"s")


def test_a_barrier_starts_a_round_that_covers_everything_handed_over() -> None:
    writer = GroupCommit()
    assert writer.append((_promise(1),), barrier=True) == 1
    round_ = writer.take_round()
    assert round_ is not None and round_.items == (_promise(1),) and round_.upto == 1
    assert writer.finish(round_) == 1
    assert writer.backlog == 0


def test_one_round_at_a_time_and_what_arrives_meanwhile_waits_for_the_next() -> None:
    writer = GroupCommit()
    writer.append((_promise(1),), barrier=True)
    first = writer.take_round()
    assert first is not None
    writer.append((_promise(2),), barrier=True)
    writer.append((_promise(3),), barrier=True)
    assert writer.take_round() is None  # the first is still in flight
    writer.finish(first)
    second = writer.take_round()
    assert second is not None
    assert second.items == (_promise(2), _promise(3)) and second.upto == 3


def test_records_without_a_barrier_wait_for_a_tick_or_the_next_barrier() -> None:
    writer = GroupCommit()
    decided = DecidedValue(slot=1, batch=())
    assert writer.append((decided,), barrier=False) is None
    assert writer.take_round() is None
    writer.want_all()  # the tick
    round_ = writer.take_round()
    assert round_ is not None and round_.items == (decided,)


def test_snapshots_keep_their_place_among_the_records() -> None:
    writer = GroupCommit()
    writer.append((_promise(1),), barrier=False)
    writer.save_snapshot(SNAP)
    writer.append((_promise(2),), barrier=True)
    round_ = writer.take_round()
    assert round_ is not None
    assert round_.items == (_promise(1), SNAP, _promise(2))
    assert round_.records == (_promise(1), _promise(2))
    assert round_.snapshots == (SNAP,)
    assert round_.upto == 2  # snapshots take no record position


def test_a_clean_stop_takes_the_rest_wanted_or_not() -> None:
    writer = GroupCommit()
    writer.append((DecidedValue(slot=1, batch=()),), barrier=False)
    rest = writer.take_rest()
    assert rest is not None and rest.upto == 1
    assert writer.take_rest() is None  # in flight


def test_finishing_a_round_that_is_not_in_flight_is_a_bug() -> None:
    writer = GroupCommit()
    writer.append((_promise(1),), barrier=True)
    round_ = writer.take_round()
    assert round_ is not None
    writer.finish(round_)
    with pytest.raises(AssertionError):
        writer.finish(round_)
