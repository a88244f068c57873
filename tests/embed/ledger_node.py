"""One process hosting one embedded node with a `Ledger`, and client tasks proposing to it.

Run by the kill-under-load test: `python ledger_node.py CONFIG ID QUOTA TASKS OUT`. The tasks
propose `Record` commands with unique ids until this node has `QUOTA` acknowledged ones
(counting those of its earlier runs), appending each acknowledged id to `OUT/acks-ID` as it
comes; then the node writes `OUT/done-ID` and stays in the cluster. Each line `dump N` on stdin
answers with `OUT/dump-ID-N` (a linearizable read of the whole ledger); the end of stdin stops
the node. Its role goes to `OUT/role-ID` whenever it changes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from pathlib import Path

from ledger import Ledger, Record

import pyxos
from pyxos.embed import RoleChange

PROPOSE_TIMEOUT_S = 10.0
RETRIES_MAX = 3


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


async def main(config: str, node_id: int, quota: int, tasks: int, out: Path) -> None:
    acks_path = out / f"acks-{node_id}"
    acked = 0
    if acks_path.exists():
        acked = sum(
            1 for line in acks_path.read_text().splitlines(keepends=True) if line.endswith("\n")
        )

    def on_role(change: RoleChange) -> None:
        write_atomically(out / f"role-{node_id}", "leader" if change.is_leader else "follower")

    ids = itertools.count()
    async with pyxos.Node(config, node_id, {"ledger": Ledger()}, on_role_change=on_role) as node:
        write_atomically(out / f"ready-{node_id}", str(os.getpid()))
        with open(acks_path, "a", buffering=1) as acks:

            async def client(task: int) -> None:
                nonlocal acked
                while acked < quota:
                    command = Record(id=f"{node_id}.{os.getpid()}.{task}.{next(ids)}")
                    request_id = None
                    for _ in range(RETRIES_MAX):
                        try:
                            await node.propose(
                                command, timeout=PROPOSE_TIMEOUT_S, request_id=request_id
                            )
                        except pyxos.Timeout as exc:
                            request_id = exc.request_id  # the retry is exactly-once
                            continue
                        acked += 1
                        acks.write(command.id + "\n")
                        break

            await asyncio.gather(*(client(t) for t in range(tasks)))
        write_atomically(out / f"done-{node_id}", str(acked))
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            _, n = line.split()
            counts = await node.read(lambda m: dict(m.counts), timeout=PROPOSE_TIMEOUT_S)
            write_atomically(out / f"dump-{node_id}-{n}", json.dumps(counts, sort_keys=True))


if __name__ == "__main__":
    config, node_id, quota, tasks, out = sys.argv[1:]
    asyncio.run(main(config, int(node_id), int(quota), int(tasks), Path(out)))
