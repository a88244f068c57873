"""Options expand deterministically from the seed, inside their documented ranges."""

from __future__ import annotations

from dataclasses import fields

import pytest

from pyxos.sim.options import OPTION_NAMES, RANGES, SimOptions, expand_options
from pyxos.sim.result import replay_command


def test_same_seed_same_options() -> None:
    assert expand_options(42) == expand_options(42)
    assert expand_options(42) != expand_options(43)


def test_every_option_is_documented_and_within_its_range() -> None:
    assert set(RANGES) == set(OPTION_NAMES)
    for seed in range(1, 300):
        options = expand_options(seed)
        for name in OPTION_NAMES:
            low, high = RANGES[name]
            assert low <= getattr(options, name) <= high, (seed, name)
        assert options.nodes in (3, 5)
        assert options.ops >= 200
        assert options.election_timeout_ticks_min >= 2 * options.heartbeat_ticks


def test_both_cluster_sizes_occur() -> None:
    sizes = {expand_options(seed).nodes for seed in range(1, 50)}
    assert sizes == {3, 5}


def test_an_override_changes_only_that_option() -> None:
    base = expand_options(9)
    changed = expand_options(9, nodes=5, ops=400)
    assert (changed.nodes, changed.ops) == (5, 400)
    for f in fields(SimOptions):
        if f.name not in ("nodes", "ops"):
            assert getattr(changed, f.name) == getattr(base, f.name)


def test_bad_overrides_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        expand_options(1, nodez=3)
    with pytest.raises(ValueError):
        expand_options(1, drop_p=1.5)
    with pytest.raises(ValueError):
        expand_options(1, nodes=0)


def test_describe_lists_every_option() -> None:
    text = expand_options(3).describe()
    for name in OPTION_NAMES:
        assert f"{name}=" in text
    assert "seed=" not in text


def test_replay_command_repeats_only_the_overrides() -> None:
    assert replay_command(expand_options(5)) == "pyxos sim --seed 5"
    command = replay_command(expand_options(5, ops=999, drop_p=0.5))
    assert command == "pyxos sim --seed 5 --ops 999 --drop-p 0.5"
