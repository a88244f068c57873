"""A leader-elected worker pool: jobs are submitted through any node, and only the leader works.

Every node runs the same replicated `Jobs` machine. A node starts its worker when it becomes
the leader and stops it when it loses leadership (`node.role_changes()`), so one worker runs
at a time, wherever the leader is. A job is marked done through the log, so a new leader
never redoes a job the old one finished (a job it was in the middle of is done again: make the
work idempotent). The demo stops the leader half-way; another node takes over.

    python examples/worker_pool.py --demo
"""

import asyncio
import sys
import tempfile

import msgspec

import pyxos
from pyxos.embed import ClusterConfig


class Submit(msgspec.Struct, frozen=True, tag="submit"):
    job: str


class Done(msgspec.Struct, frozen=True, tag="done"):
    job: str
    by: int


class Jobs(pyxos.Machine[Submit | Done, bool]):
    def __init__(self) -> None:
        self.pending: list[str] = []
        self.done: dict[str, int] = {}  # job -> the node whose worker did it

    def apply(self, command: Submit | Done) -> bool:
        if isinstance(command, Submit):
            if command.job in self.done or command.job in self.pending:
                return False
            self.pending.append(command.job)
            return True
        if command.job not in self.pending:
            return False  # done already, by an earlier leader
        self.pending.remove(command.job)
        self.done[command.job] = command.by
        return True

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode((self.pending, self.done))

    def restore(self, data: bytes) -> None:
        self.pending, self.done = msgspec.msgpack.decode(
            data, type=tuple[list[str], dict[str, int]]
        )


async def work(node: pyxos.Node, changed: asyncio.Event) -> None:
    """The worker: while this node leads, take the oldest pending job, do it, mark it done."""
    while True:
        changed.clear()
        pending = await node.read(lambda jobs: list(jobs.pending))
        if not pending:
            await changed.wait()  # set whenever a command is applied here
            continue
        await asyncio.sleep(0.01)  # the work itself
        await node.propose(Done(job=pending[0], by=node.node_id))


async def supervise(node: pyxos.Node, changed: asyncio.Event) -> None:
    """Run the worker exactly while this node is the leader."""
    worker: asyncio.Task[None] | None = None
    with node.role_changes() as roles:
        async for change in roles:
            if change.is_leader and worker is None:
                print(f"node {node.node_id} leads: its worker starts")
                worker = asyncio.create_task(work(node, changed))
            elif not change.is_leader and worker is not None:
                print(f"node {node.node_id} lost leadership: its worker stops")
                worker.cancel()
                worker = None
    if worker is not None:
        worker.cancel()


def pool_node(config: ClusterConfig, node_id: int) -> tuple[pyxos.Node, asyncio.Task[None]]:
    changed = asyncio.Event()
    node = pyxos.Node(config, node_id, Jobs(), on_applied=lambda _: changed.set())
    return node, asyncio.create_task(supervise(node, changed))


async def demo(data: str, jobs: int = 20) -> None:
    config = pyxos.local_config(3, data)
    pool = [pool_node(config, k) for k in (1, 2, 3)]
    nodes = [node for node, _ in pool]
    for node in nodes:
        await node.start()
    for i in range(jobs):
        await nodes[i % 3].propose(Submit(job=f"job-{i}"))

    async def done_count(node: pyxos.Node) -> int:
        return int(await node.read(lambda j: len(j.done)))

    survivor = nodes[0]
    while await done_count(survivor) < jobs // 2:
        await asyncio.sleep(0.01)
    leader = next(node for node in nodes if node.is_leader)
    print(f"stopping the leader, node {leader.node_id}")
    await leader.stop()
    survivor = next(node for node in nodes if node is not leader)
    while await done_count(survivor) < jobs:
        await asyncio.sleep(0.01)
    done = await survivor.read(lambda j: dict(j.done))
    workers = sorted(set(done.values()))
    print(f"{len(done)} jobs done, by the workers of nodes {workers}")
    for node in nodes:
        await node.stop()
    await asyncio.gather(*(task for _, task in pool))


if __name__ == "__main__":
    if sys.argv[1:] != ["--demo"]:
        sys.exit("usage: python examples/worker_pool.py --demo")
    with tempfile.TemporaryDirectory() as data:
        asyncio.run(demo(data))
