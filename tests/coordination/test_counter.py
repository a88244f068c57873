"""paxosd's distributed lock test, done properly: 4 client processes against a 3-node cluster,
each doing 8 rounds of 2 increments of a shared counter under the lock, every write fenced with
the grant's token; the counter ends at exactly 64. Then again with a node killed (-9) and
restarted in the middle."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import FAILOVER_DEADLINE_S, ClientCluster, Workers, overlaps_ms, poll

from pyxos.client import Client

WORKERS = 4
ROUNDS = 8
INCREMENTS = 2
RUN_DEADLINE_S = 120.0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClientCluster]:
    c = ClientCluster(tmp_path)
    try:
        c.start_all()
        c.settled()
        yield c
    finally:
        c.close()


def _check(cluster: ClientCluster, workers: Workers) -> None:
    events = workers.events()
    writes = [e for e in events if e["event"] == "write"]
    grants = [e for e in events if e["event"] == "granted"]
    tokens = [e["token"] for e in grants]
    assert len(set(tokens)) == len(tokens), "a token was granted twice"
    for name in workers.names:
        mine = [e["token"] for e in grants if e["name"] == name]
        assert mine == sorted(mine)
    # Every accepted write replaced one made under the same or an earlier grant.
    assert all(w["previous_token"] <= w["token"] for w in writes)
    assert sorted(w["value"] for w in writes) == list(range(1, len(writes) + 1))
    with Client(config=cluster.config, timeout_s=FAILOVER_DEADLINE_S) as c:
        value = c.get("counter")
    assert value is not None
    print(
        f"counter {value.decode()}, {len(grants)} grants, {len(writes)} writes, "
        f"{sum(e['event'] == 'refused' for e in events)} refused, "
        f"overlaps {overlaps_ms(events)}"
    )
    assert int(value.split(b":")[0]) == WORKERS * ROUNDS * INCREMENTS == 64


def test_four_processes_count_to_64_under_the_lock(cluster: ClientCluster) -> None:
    workers = Workers(cluster.root, cluster.config, WORKERS, "--rounds", str(ROUNDS))
    try:
        poll("the workers finish", workers.finished, RUN_DEADLINE_S)
    finally:
        workers.close()
    _check(cluster, workers)


def test_still_64_with_a_node_killed_and_restarted_in_the_middle(cluster: ClientCluster) -> None:
    workers = Workers(cluster.root, cluster.config, WORKERS, "--rounds", str(ROUNDS))
    try:
        poll("a quarter of the writes", lambda: len(workers.events()) >= 20, RUN_DEADLINE_S)
        victim = random.Random().choice([cluster.leader(cluster.ids), *cluster.ids])
        cluster.kill(victim)
        poll(
            "writes go on without it",
            lambda: sum(e["event"] == "write" for e in workers.events()) >= 40,
            RUN_DEADLINE_S,
        )
        cluster.start(victim)
        cluster.wait_healthy(victim)
        poll("the workers finish", workers.finished, RUN_DEADLINE_S)
    finally:
        workers.close()
    print(f"killed and restarted node {victim}")
    _check(cluster, workers)
