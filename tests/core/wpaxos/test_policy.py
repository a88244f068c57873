"""Migration policies: when an owner says its object should move to another zone."""

from __future__ import annotations

import pytest

from pyxos.core.wpaxos import parse_policy


def _hits(policy: str, zones: list[int], *, own: int = 0, every: int = 1) -> list[int | None]:
    """What the policy says after each request, from `zones[i]` at tick `i * every`."""
    made = parse_policy(policy).make(own)
    return [made.hit(zone, i * every) for i, zone in enumerate(zones)]


def test_immediate_never_hands_over_the_requesters_steal() -> None:
    assert parse_policy("immediate").steals_at_once
    assert _hits("immediate", [1, 1, 1, 1]) == [None] * 4
    assert not parse_policy("majority").steals_at_once


def test_consecutive_hands_over_after_n_requests_in_a_row_from_one_zone() -> None:
    assert _hits("consecutive:3", [1, 1, 2, 1, 1, 1]) == [None, None, None, None, None, 1]
    # The owner's own requests never move the object.
    assert _hits("consecutive:2", [0, 0, 0]) == [None, None, None]


def test_majority_hands_over_at_the_end_of_an_interval_to_a_zone_with_half() -> None:
    # Ticks 0..3 are one interval of 4; at tick 4 zone 1 had 3 of the 4 requests.
    assert _hits("majority:4", [1, 0, 1, 1, 2]) == [None, None, None, None, 1]
    # No zone had half: the object stays.
    assert _hits("majority:4", [1, 2, 0, 3, 2])[-1] is None


def test_ema_moves_when_another_zone_dominates_the_average() -> None:
    assert _hits("ema:50", [1, 1, 1]) == [None, 1, 1]  # it says so until the object moves
    # Zones that share the object evenly do not move it at a gentle weight.
    assert _hits("ema:20", [0, 1] * 10) == [None] * 20


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("fast", "unknown migration policy 'fast'"),
        ("majority:x", "the parameter must be a whole number"),
    ],
)
def test_a_bad_policy_is_named(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_policy(text)
