"""A node whose log is damaged refuses to start, and `pyxos node --rebuild` brings it back.

The rebuilt node starts empty, rejoins without voting until that is safe (the rejoin rule,
pyxos.core.multipaxos.rejoin), catches up from its peers, and then counts in quorums again: the
cluster keeps serving when one of the two other nodes is then stopped.
"""

from __future__ import annotations

from pathlib import Path

from test_runtime_cluster import FAILOVER_DEADLINE_S, Cluster, poll


def flip_a_byte_in_the_middle_of_the_log(node_dir: Path) -> None:
    segments = sorted((node_dir / "wal").glob("wal-*.log"))
    assert segments, f"no log segment under {node_dir}"
    segment = segments[0]
    data = bytearray(segment.read_bytes())
    assert len(data) > 64
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))


def test_a_corrupt_node_refuses_to_start_and_is_rebuilt_from_its_peers(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    try:
        cluster.start_all()
        for i in range(20):
            cluster.put(1 + i % 3, f"k{i}", f"v{i}".encode(), FAILOVER_DEADLINE_S)
        cluster.terminate_all()
        node_dir = tmp_path / "node-3"
        flip_a_byte_in_the_middle_of_the_log(node_dir)

        cluster.start(3)
        code = cluster.procs[3].wait(timeout=30)
        assert code != 0
        log = cluster.log(3)
        assert "corrupt" in log.lower()
        assert "--rebuild" in log  # the message names the command that fixes it

        cluster.start(1)
        cluster.start(2)
        cluster.start(3, "--rebuild")
        for k in cluster.ids:
            cluster.wait_healthy(k)
        assert list(tmp_path.glob("node-3.damaged-*")), "the damaged data was not kept aside"

        def rejoined() -> bool:
            return not (node_dir / "REJOINING").exists()

        poll("node 3 votes again", rejoined, FAILOVER_DEADLINE_S)
        log = cluster.log(3)
        assert "rejoin_floor" in log and "rejoined" in log, log
        for i in range(20):
            answer = cluster.request(3, "GET", f"/v1/kv/k{i}")
            assert answer == (200, {"key": f"k{i}", "value": f"v{i}"})

        # Node 3 now counts in quorums: with node 1 gone, nodes 2 and 3 still commit.
        cluster.kill(1)
        cluster.put(2, "after", b"rebuild", FAILOVER_DEADLINE_S)
        assert cluster.get(3, "after") == {"key": "after", "value": "rebuild"}
    finally:
        cluster.close()
