"""The fault schedule: seeded, every kind at least once, filled to the run's length."""

from __future__ import annotations

import pytest

from pyxos.chaos.schedule import SETTLE_S, STEP_KINDS, make_schedule


def test_every_kind_at_least_once_even_in_a_short_run() -> None:
    steps = make_schedule(1, 1.0)
    assert sorted({s.kind for s in steps}) == sorted(STEP_KINDS)
    assert len(steps) == len(STEP_KINDS)


def test_a_long_run_is_filled_and_fits() -> None:
    steps = make_schedule(2, 300.0)
    assert {s.kind for s in steps} == set(STEP_KINDS)
    planned = sum(s.duration_s + SETTLE_S for s in steps)
    assert len(steps) > 2 * len(STEP_KINDS)
    assert planned <= 300.0


def test_the_seed_decides_everything() -> None:
    assert make_schedule(7, 120.0) == make_schedule(7, 120.0)
    assert make_schedule(7, 120.0) != make_schedule(8, 120.0)


def test_parameters_are_within_their_ranges() -> None:
    for step in make_schedule(3, 600.0):
        assert 3.0 <= step.duration_s <= 6.0
        assert step.target in ("leader", "follower")
        assert (step.delay_ms > 0) == (step.kind == "slow")
        assert (step.p > 0) == (step.kind == "flaky")


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="fault kinds"):
        make_schedule(1, 10.0, kinds=("meteor",))
