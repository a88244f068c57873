"""`pyxos up --zones Z` and `--protocol-option`: the cluster file a new local cluster gets
(zone.node ids, WPaxos grids by default, the `[options]` table), and the flags an existing
file contradicts, refused with the fix."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pyxos.cli import up_cmd
from pyxos.core.quorum import MAJORITY, QuorumSpec
from pyxos.runtime.config import ClusterConfig, ConfigError, load_config


def _up_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    up_cmd.add_arguments(parser)
    return parser.parse_args(list(argv))


def _new_cluster(tmp_path: Path, *argv: str) -> ClusterConfig:
    path, config, created = up_cmd._cluster_file(
        _up_args("--data-dir", str(tmp_path / "data"), *argv)
    )
    assert created and path.name == "cluster.toml"
    assert load_config(path) == config
    return config


def test_three_zones_of_three_with_wpaxos_get_grid_quorums_and_the_policy(
    tmp_path: Path,
) -> None:
    config = _new_cluster(
        tmp_path, "--protocol", "wpaxos", "--zones", "3", "--protocol-option", "policy=ema:30"
    )
    assert config.zoned and config.protocol == "wpaxos"
    assert [config.name(m) for m in config.members] == [
        f"{z}.{n}" for z in (1, 2, 3) for n in (1, 2, 3)
    ]
    assert config.quorums == QuorumSpec(kind="grid", fz=0, fn=1)
    assert config.options == (("policy", "ema:30"),)
    replica = config.replica_config(2001)
    assert replica.option("policy", "majority") == "ema:30"
    assert replica.quorums.is_q2((2001, 2002))  # phase 2 inside one zone
    assert not replica.quorums.is_q1((1001, 1002, 2001, 2002))  # phase 1 needs every zone


def test_zones_split_uneven_node_counts_and_keep_asked_quorums(tmp_path: Path) -> None:
    config = _new_cluster(tmp_path, "--zones", "2", "--nodes", "5")
    assert [config.name(m) for m in config.members] == ["1.1", "1.2", "1.3", "2.1", "2.2"]
    assert config.quorums == MAJORITY  # Multi-Paxos: zones only name the nodes
    other = _new_cluster(
        tmp_path / "b", "--protocol", "wpaxos", "--zones", "3", "--quorums", "grid:fz=1,fn=0"
    )
    assert other.quorums == QuorumSpec(kind="grid", fz=1, fn=0)


def test_bad_zones_and_options_are_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--nodes 2 cannot fill --zones 3"):
        _new_cluster(tmp_path, "--zones", "3", "--nodes", "2")
    with pytest.raises(ConfigError, match="multipaxos has no option 'policy'"):
        _new_cluster(tmp_path, "--protocol-option", "policy=immediate")
    with pytest.raises(ConfigError, match="unknown migration policy 'sometimes'"):
        _new_cluster(tmp_path, "--protocol", "wpaxos", "--protocol-option", "policy=sometimes")


def test_an_existing_file_refuses_other_zones_and_options(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    _new_cluster(tmp_path, "--protocol", "wpaxos", "--zones", "3")
    again = ["--data-dir", data, "--protocol", "wpaxos"]
    _, config, created = up_cmd._cluster_file(_up_args(*again, "--zones", "3"))
    assert not created and config.zoned
    with pytest.raises(ConfigError, match="has 3 zones, not 2"):
        up_cmd._cluster_file(_up_args(*again, "--zones", "2"))
    with pytest.raises(ConfigError, match=r"has no policy set in \[options\], not 'immediate'"):
        up_cmd._cluster_file(_up_args(*again, "--protocol-option", "policy=immediate"))
