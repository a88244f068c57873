"""A TEST BUILD of a node with a bug planted on purpose, to show that `pyxos chaos` sees it.

`follower_local_reads`: a node that is not the leader answers a linearizable read from its
own state at once, without a read index confirmed through the leader. A follower cut off from
the leader then serves stale values while the others go on writing: the history is not
linearizable, and `pyxos chaos --planted-bug follower_local_reads` must say so. Under WPaxos,
which reads through the log, the bug is the same: a node that owns no object answers from its
own state instead of putting the read in the object's log.

The bug is patched into `NodeRunner` in this process only; no production module knows of it.
Run as `python -m pyxos.chaos.planted_bug --bug follower_local_reads --config ... --id ...`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pyxos.machines.base import Keyed
from pyxos.runtime.config import load_config
from pyxos.runtime.runner import NodeRunner
from pyxos.service.process import configure_logging, run_node

PLANTED_BUGS = ("follower_local_reads",)


def plant_follower_local_reads() -> None:
    """Make every `NodeRunner` of this process answer a follower's linearizable reads from its
    local state."""
    honest_read = NodeRunner.read

    async def read(self: NodeRunner, query: bytes, *, linearizable: bool = True) -> bytes:
        machine = self.node.machine
        if isinstance(machine, Keyed):  # a log per object: "the leader" is the object's owner
            leads = self.node.replica.leads(machine.object_of(query))
        else:
            leads = self.node.replica.is_leader
        if linearizable and not leads:
            linearizable = False  # THE BUG: no read index, just whatever this node has
        return await honest_read(self, query, linearizable=linearizable)

    NodeRunner.read = read  # type: ignore[method-assign,assignment]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyxos.chaos.planted_bug",
        description="Run one node of a TEST BUILD with a planted bug (never in production).",
    )
    parser.add_argument("--bug", required=True, choices=PLANTED_BUGS)
    parser.add_argument("--config", required=True)
    parser.add_argument("--id", required=True, help="the node's id (zone.node in a zoned cluster)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    node_id = config.resolve(args.id)
    configure_logging(node_id, args.log_level)
    plant_follower_local_reads()
    print(f"node {args.id}: TEST BUILD with the planted bug {args.bug}", file=sys.stderr)
    return run_node(config, node_id)


if __name__ == "__main__":
    sys.exit(main())
