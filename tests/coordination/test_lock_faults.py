"""The lock under faults: a holder paused (SIGSTOP) for longer than its TTL, the leader cut off
by a partition, the leader killed (-9) and restarted, while worker processes count under the
lock with fenced writes.

Checked: tokens are never granted twice and increase per worker; every grant was of a live
lease; no fenced write with a stale token is accepted (each accepted write replaced one made
under the same or an earlier grant, and the counter equals the accepted writes); the counter
ends at exactly rounds x increments x workers (a refused round is done again). Measured and
printed, not asserted: the intervals in which two workers believed they held the lock at once
(a lease cannot prevent that under a pause; the fence is what keeps the data right).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from cluster import FAILOVER_DEADLINE_S, ClientCluster, Workers, overlaps_ms, poll

from pyxos.client import Client

WORKERS = 3
ROUNDS = 4
INCREMENTS = 2
TTL_S = 1.0
RUN_DEADLINE_S = 120.0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClientCluster]:
    c = ClientCluster(tmp_path, fault_injection=True)
    try:
        c.start_all()
        c.settled()
        yield c
    finally:
        c.close()


def _writes(workers: Workers) -> int:
    return sum(e["event"] == "write" for e in workers.events())


def test_pause_partition_and_leader_kill(cluster: ClientCluster) -> None:
    extra = ("--rounds", str(ROUNDS), "--ttl", str(TTL_S), "--hold", "0.1")
    workers = Workers(cluster.root, cluster.config, WORKERS, *extra)
    try:
        # 1. Pause the holder for longer than its TTL: the lock passes on meanwhile.
        def holder() -> str | None:
            status, body = cluster.request(cluster.ids[0], "GET", "/v1/locks/counter")
            return body["holder"] if status == 200 else None

        paused = poll("a holder", holder, RUN_DEADLINE_S)
        workers.procs[paused].send_signal(signal.SIGSTOP)
        try:
            poll("another holder", lambda: holder() not in (None, paused), RUN_DEADLINE_S)
        finally:
            workers.procs[paused].send_signal(signal.SIGCONT)

        # 2. Cut the leader off from the others for two seconds.
        leader = cluster.leader(cluster.ids)
        others = [k for k in cluster.ids if k != leader]
        before = _writes(workers)
        fault = msgspec.json.encode({"kind": "partition", "duration_s": 2.0, "peers": others})
        status, body = cluster.request(leader, "POST", "/v1/admin/faults", fault)
        assert status == 200, body
        poll("writes go on past the partition", lambda: _writes(workers) > before + 2, 60)

        # 3. Kill the leader, restart it.
        leader = cluster.leader(cluster.ids)
        cluster.kill(leader)
        before = _writes(workers)
        poll("writes go on without the leader", lambda: _writes(workers) > before + 2, 60)
        cluster.start(leader)
        cluster.wait_healthy(leader)
        poll("the workers finish", workers.finished, RUN_DEADLINE_S)
    finally:
        workers.close()

    events = workers.events()
    grants = [e for e in events if e["event"] == "granted"]
    writes = [e for e in events if e["event"] == "write"]
    tokens = [e["token"] for e in grants]
    assert len(set(tokens)) == len(tokens), "a token was granted twice"
    for name in workers.names:
        mine = [e["token"] for e in grants if e["name"] == name]
        assert mine == sorted(mine)
    assert all(e["remaining_ms"] > 0 for e in grants), "a grant of an expired lease"
    assert all(w["previous_token"] <= w["token"] for w in writes), "a stale write was accepted"
    assert sorted(w["value"] for w in writes) == list(range(1, len(writes) + 1))
    with Client(config=cluster.config, timeout_s=FAILOVER_DEADLINE_S) as c:
        value = c.get("counter")
    assert value is not None
    count = int(value.split(b":")[0])
    assert count == len(writes) == WORKERS * ROUNDS * INCREMENTS
    overlaps = overlaps_ms(events)
    print(
        f"\npaused {paused} past its {TTL_S}s TTL; partitioned then killed the leader; "
        f"{len(grants)} grants, {len(writes)} accepted writes, "
        f"{sum(e['event'] == 'refused' for e in events)} refused as stale, "
        f"{sum(e['event'] == 'lost' for e in events)} releases of a lost lease; "
        f"{len(overlaps)} overlapping holder intervals, "
        f"max {max((o[2] for o in overlaps), default=0.0):.1f} ms: {overlaps}"
    )
