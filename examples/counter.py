"""A replicated counter. `python examples/counter.py --demo` runs three nodes in this process;
`python examples/counter.py cluster.toml 2` runs node 2 of a real cluster (start a majority of
them within a few seconds: a node alone has no quorum, and says so)."""

import asyncio
import sys
import tempfile

import pyxos


class Counter(pyxos.Machine[int, int]):  # commands: ints to add; results: the new total
    def __init__(self) -> None:
        self.value = 0

    def apply(self, command: int) -> int:
        self.value += command
        return self.value

    def snapshot(self) -> bytes:
        return str(self.value).encode()

    def restore(self, data: bytes) -> None:
        self.value = int(data)


async def main(nodes: list[pyxos.Node]) -> None:
    for node in nodes:
        await node.start()
    for node in nodes:
        print(f"node {node.node_id} added 1: total {await node.propose(1)}")
    print(f"total on node {nodes[0].node_id}: {await nodes[0].read(lambda c: c.value)}")
    for node in nodes:
        await node.stop()


USAGE = """\
usage: python examples/counter.py --demo                 three nodes in this process
       python examples/counter.py CLUSTER_FILE NODE_ID  one node of a real cluster"""

if __name__ == "__main__":
    args = sys.argv[1:]
    if args != ["--demo"] and len(args) != 2:
        sys.exit(USAGE)
    with tempfile.TemporaryDirectory() as data:
        demo = args == ["--demo"]
        config = pyxos.local_config(3, data) if demo else args[0]
        ids = [1, 2, 3] if demo else [args[1]]
        try:
            asyncio.run(main([pyxos.Node(config, k, Counter()) for k in ids]))
        except (pyxos.PyxosError, ValueError) as exc:  # no quorum yet: start the other nodes
            sys.exit(f"counter: {exc}")
