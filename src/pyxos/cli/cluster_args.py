"""How a command finds the cluster: a flag, the environment, or `pyxos up`'s data directory.

In this order, the first that is given wins:

1. `--config FILE`: every member's client and HTTP address from the cluster file;
2. `--endpoints HOST:PORT,...`: client addresses of some nodes (they name the others);
3. `$PYXOS_ENDPOINTS`, the same list (etcdctl's `ETCDCTL_ENDPOINTS`);
4. `./pyxos-data/cluster.toml` when it exists: what `pyxos up` writes when run from this
   directory, so the commands it prints work as printed, whatever `--base-port` it was given;
5. `127.0.0.1:9000`, node 1 of a default `pyxos up`.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from pyxos.client.async_client import DEFAULT_ENDPOINT, TIMEOUT_S

ENV_ENDPOINTS = "PYXOS_ENDPOINTS"
DEFAULT_CLUSTER_FILE = Path("pyxos-data") / "cluster.toml"
WHERE_HELP = (
    f"without --config or --endpoints: ${ENV_ENDPOINTS}, else {DEFAULT_CLUSTER_FILE} when it "
    f"exists (pyxos up's), else {DEFAULT_ENDPOINT}"
)


@dataclass(frozen=True, slots=True)
class Target:
    """Where the cluster is: a cluster file or client endpoints, and what said so."""

    config: str | None
    endpoints: str | None
    source: str

    def hint(self) -> str:
        """How the cluster was found, for an error message when nothing answered there."""
        if self.source == "default":
            return (
                f"nothing told where the cluster is (--config, --endpoints, ${ENV_ENDPOINTS} or "
                f"./{DEFAULT_CLUSTER_FILE}), so {DEFAULT_ENDPOINT} was tried"
            )
        return f"the cluster was looked for through {self.source}"


def add_cluster_arguments(parser: argparse.ArgumentParser, *, timeout: bool = True) -> None:
    """`--config` / `--endpoints` (and `--timeout`): how a command finds the cluster."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--config", metavar="FILE", help="the cluster file: use every member's address"
    )
    where.add_argument(
        "--endpoints",
        metavar="HOST:PORT,...",
        help=f"client addresses of some nodes ({WHERE_HELP})",
    )
    if timeout:
        parser.add_argument(
            "--timeout",
            type=float,
            default=TIMEOUT_S,
            metavar="SECONDS",
            help="give up after this long (default %(default)s)",
        )


def cluster_target(args: argparse.Namespace) -> Target:
    """Where the command's arguments and environment say the cluster is."""
    config = getattr(args, "config", None)
    endpoints = getattr(args, "endpoints", None)
    if config is not None:
        return Target(config=str(config), endpoints=None, source=f"--config {config}")
    if endpoints is not None:
        return Target(config=None, endpoints=endpoints, source=f"--endpoints {endpoints}")
    from_env = os.environ.get(ENV_ENDPOINTS, "").strip()
    if from_env:
        return Target(config=None, endpoints=from_env, source=f"${ENV_ENDPOINTS}={from_env}")
    if DEFAULT_CLUSTER_FILE.is_file():
        return Target(
            config=str(DEFAULT_CLUSTER_FILE), endpoints=None, source=f"./{DEFAULT_CLUSTER_FILE}"
        )
    return Target(config=None, endpoints=DEFAULT_ENDPOINT, source="default")
