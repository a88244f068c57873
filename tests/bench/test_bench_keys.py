"""Key distributions: in range, deterministic for a seed, and shaped as their knobs say."""

from __future__ import annotations

import itertools
from collections import Counter
from random import Random
from typing import get_args

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyxos.bench.keys import (
    ConflictKeys,
    NormalKeys,
    OrderKeys,
    key_choosers,
    worker_random,
    zipf_cdf,
)
from pyxos.bench.options import BenchOptions, Distribution, OptionsError

DISTRIBUTIONS: tuple[Distribution, ...] = get_args(Distribution)


def draws(options: BenchOptions, workers: int, count: int) -> list[list[int]]:
    rngs = [worker_random(options.seed, w) for w in range(workers)]
    choosers = key_choosers(options, rngs)
    return [[c.next(elapsed_ms=i * 7) for i in range(count)] for c in choosers]


OPTIONS = st.builds(
    BenchOptions,
    distribution=st.sampled_from(DISTRIBUTIONS),
    keys=st.integers(min_value=1, max_value=3000),
    seed=st.integers(min_value=0, max_value=2**32),
    conflicts=st.integers(min_value=0, max_value=100),
    move=st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(options=OPTIONS, workers=st.integers(min_value=1, max_value=5))
def test_every_key_is_in_the_key_space_and_a_seed_repeats_the_sequence(
    options: BenchOptions, workers: int
) -> None:
    options.validate()
    keys = options.keys
    first = draws(options, workers, 200)
    assert all(0 <= k < keys for sequence in first for k in sequence)
    assert draws(options, workers, 200) == first


def test_workers_draw_different_streams() -> None:
    options = BenchOptions(distribution="uniform", keys=1000)
    a, b = draws(options, 2, 50)
    assert a != b


@pytest.mark.parametrize("conflicts", [0, 10, 50, 90, 100])
def test_conflict_sends_its_percentage_to_the_shared_key(conflicts: int) -> None:
    chooser = ConflictKeys(keys=100, conflicts=conflicts, rng=Random(7), start=0)
    n = 20_000
    share = sum(chooser.next(0) == 0 for _ in range(n)) / n
    assert abs(share - conflicts / 100) < 0.015


def test_conflict_walks_the_other_keys_in_order() -> None:
    chooser = ConflictKeys(keys=5, conflicts=0, rng=Random(1), start=0)
    assert [chooser.next(0) for _ in range(6)] == [1, 2, 3, 4, 1, 2]


def test_order_visits_every_key_in_turn_from_its_start() -> None:
    chooser = OrderKeys(keys=4, start=2)
    assert [chooser.next(0) for _ in range(6)] == [2, 3, 0, 1, 2, 3]


def test_order_workers_start_spread_over_the_key_space() -> None:
    options = BenchOptions(distribution="order", keys=100)
    assert [sequence[0] for sequence in draws(options, 4, 1)] == [0, 25, 50, 75]


def test_normal_centres_on_mu() -> None:
    chooser = NormalKeys(1000, mu=500, sigma=10, rng=Random(3), speed_ms=None)
    keys = [chooser.next(0) for _ in range(5000)]
    assert abs(sum(keys) / len(keys) - 500) < 1.0
    assert chooser.mean(10_000) == 500


def test_normal_moving_mean_steps_one_key_per_speed_and_wraps() -> None:
    chooser = NormalKeys(100, mu=98, sigma=1, rng=Random(3), speed_ms=500)
    assert [chooser.mean(t) for t in (0, 499, 500, 1000, 1500)] == [98, 98, 99, 0, 1]


def test_zipf_cdf_is_increasing_ends_at_one_and_favours_low_keys() -> None:
    cdf = zipf_cdf(1000, s=2.0, v=1.0)
    assert all(a < b for a, b in itertools.pairwise(cdf))
    assert cdf[-1] == 1.0
    # P(0) = 1 / sum((1 + k) ** -2) = 1 / (pi ** 2 / 6) for a large key space.
    assert abs(cdf[0] - 6 / 3.14159265**2) < 0.001
    options = BenchOptions(distribution="zipfian", keys=1000)
    counts = Counter(draws(options, 1, 5000)[0])
    assert counts.most_common(1)[0][0] == 0


def test_exponential_mean_is_about_one_over_lambda() -> None:
    options = BenchOptions(distribution="exponential", keys=1_000_000, lambda_=0.01)
    keys = draws(options, 1, 20_000)[0]
    assert abs(sum(keys) / len(keys) - 100) < 5


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"keys": 0}, "-K"),
        ({"write_ratio": 1.5}, "-W"),
        ({"conflicts": 101}, "-c"),
        ({"zipf_s": 1.0}, "--zipf-s"),
        ({"open_loop": True}, "--open-loop"),
        ({"duration_s": 0, "operations": 0}, "-T or -N"),
        ({"value_bytes": 4}, "--value-size"),
    ],
)
def test_bad_knobs_are_refused_by_name(change: dict[str, object], word: str) -> None:
    with pytest.raises(OptionsError, match=word):
        msgspec.structs.replace(BenchOptions(), **change).validate()  # type: ignore[arg-type]
