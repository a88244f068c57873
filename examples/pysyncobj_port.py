"""PySyncObj's README example, ported: a counter whose `@replicated` methods run on every node.

PySyncObj pickles the calls and the whole object; here the calls are msgpack, decoded with the
methods' type hints, and the state is snapshotted by the class itself. PySyncObj's object is
also its node; here the node hosts the object (`SyncNode`, for threaded code like PySyncObj's).

    python examples/pysyncobj_port.py --demo           # three nodes in this process
    python examples/pysyncobj_port.py cluster.toml 1   # node 1 of a real cluster
"""

import sys
import tempfile

import pyxos


class MyCounter(pyxos.Replicated):
    def __init__(self) -> None:
        self.counter = 0

    @pyxos.replicated
    def inc_counter(self) -> int:
        self.counter += 1
        return self.counter

    @pyxos.replicated
    def add_value(self, value: int, cn: str) -> tuple[int, str]:
        self.counter += value
        return self.counter, cn

    def get_counter(self) -> int:
        return self.counter

    def snapshot(self) -> bytes:
        return str(self.counter).encode()

    def restore(self, data: bytes) -> None:
        self.counter = int(data)


def main(nodes: list[pyxos.SyncNode]) -> None:
    for node in nodes:
        node.start()
    try:
        counter1 = nodes[0]
        print("inc_counter ->", counter1.call(MyCounter.inc_counter))  # PySyncObj: sync=True
        # PySyncObj: addValue(10, cn='test', callback=onAdd); the result comes back here.
        print("add_value ->", counter1.call(MyCounter.add_value, 10, cn="test"))
        for node in nodes:  # a linearizable read on every node
            print(f"node {node.node.node_id} get_counter ->", node.read(MyCounter.get_counter))
    finally:
        for node in nodes:
            node.stop()


USAGE = """\
usage: python examples/pysyncobj_port.py --demo                 three nodes in this process
       python examples/pysyncobj_port.py CLUSTER_FILE NODE_ID  one node of a real cluster"""

if __name__ == "__main__":
    args = sys.argv[1:]
    if args != ["--demo"] and len(args) != 2:
        sys.exit(USAGE)
    with tempfile.TemporaryDirectory() as data:
        demo = args == ["--demo"]
        config = pyxos.local_config(3, data) if demo else args[0]
        ids = [1, 2, 3] if demo else [args[1]]
        try:
            main([pyxos.SyncNode(config, k, MyCounter()) for k in ids])
        except (pyxos.PyxosError, ValueError) as exc:  # no quorum yet: start the other nodes
            sys.exit(f"pysyncobj_port: {exc}")
