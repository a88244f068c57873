"""The leader is killed with SIGKILL while clients write and read; the history must be
linearizable, and every node must end with the same state.

Eight client tasks run get/put/delete on a few keys through random nodes, one operation at a
time each, with unique values, and record every operation (invoke and completion times from one
monotonic clock). A write that gets no answer (a 503/504, or a connection cut by the kill) has
an unknown outcome: the checker may place it anywhere after its invocation, or nowhere. The run
is paced by counts, not by time: the leader is killed once a third of the operations have
completed, restarted at half. At the end every key is read linearizably once more, so a
lost acknowledged write would show up as a stale final read, and `pyxos check logs` must find
the nodes' committed logs in agreement.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import aiohttp
from test_runtime_cluster import FAILOVER_DEADLINE_S, Cluster, poll

from pyxos.check.history import Operation
from pyxos.check.linearizability import check_history
from pyxos.cli.main import main

CLIENTS = 8
OPS_PER_CLIENT = 40
KEYS = ("a", "b", "c", "d")
REQUEST_TIMEOUT_S = 8.0
PHASE_DEADLINE_S = 120.0


def now_us() -> int:
    return time.monotonic_ns() // 1000


class Workload:
    def __init__(self, cluster: Cluster, seed: int) -> None:
        self.cluster = cluster
        self.rng = random.Random(seed)
        self.history: list[Operation] = []
        self.completed = 0
        self.unknown = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def reached(self, count: int) -> asyncio.Future[None]:
        """Resolves once `count` operations have completed (answered or not)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((count, future))
        self._wake()
        return future

    def _wake(self) -> None:
        for count, future in self._waiters:
            if self.completed >= count and not future.done():
                future.set_result(None)

    async def run_client(self, session: aiohttp.ClientSession, client: int) -> None:
        rng = random.Random(self.rng.getrandbits(64))
        for seq in range(1, OPS_PER_CLIENT + 1):
            key = rng.choice(KEYS)
            kind = rng.choice(("get", "get", "put", "put", "delete"))
            value = f"{client}.{seq}" if kind == "put" else None
            node = rng.choice(self.cluster.ids)
            await self.one(session, client=client, node=node, kind=kind, key=key, value=value)

    async def one(
        self,
        session: aiohttp.ClientSession,
        *,
        client: int,
        node: int,
        kind: str,
        key: str,
        value: str | None,
    ) -> None:
        url = f"http://{self.cluster.http[node]}/v1/kv/{key}"
        method = {"get": "GET", "put": "PUT", "delete": "DELETE"}[kind]
        invoke = now_us()
        output: str | None = None
        status = 0
        body: dict[str, object] = {}
        try:
            async with session.request(
                method, url, data=value.encode() if value is not None else None
            ) as response:
                status = response.status
                body = await response.json()
        except (TimeoutError, aiohttp.ClientError, OSError):
            status = 0
        complete: int | None = now_us()
        if kind == "get":
            if status == 404 and body.get("code") == "key_not_found":
                output = None
            elif status == 200:
                output = str(body["value"])
            else:
                return  # a failed read changed nothing: leave it out of the history
        elif status == 200:
            previous = body.get("previous")
            output = None if previous is None else str(previous)
        else:
            complete = None  # no answer: the write may or may not have happened
            self.unknown += 1
        self.completed += 1
        self._wake()
        self.history.append(
            Operation(
                client=client,
                kind=kind,  # type: ignore[arg-type]
                key=key,
                value=value,
                invoke=invoke,
                complete=complete,
                output=output if complete is not None else None,
            )
        )


async def drive(cluster: Cluster, workload: Workload, tmp_path: Path) -> int:
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        clients = [
            asyncio.create_task(workload.run_client(session, c)) for c in range(1, CLIENTS + 1)
        ]
        total = CLIENTS * OPS_PER_CLIENT
        victim = await asyncio.to_thread(cluster.leader, cluster.ids)
        # Failed reads are not counted, so thresholds stay below what the clients can reach.
        await asyncio.wait_for(workload.reached(total // 3), PHASE_DEADLINE_S)
        await asyncio.to_thread(cluster.kill, victim)
        await asyncio.wait_for(workload.reached(total // 2), PHASE_DEADLINE_S)
        await asyncio.to_thread(cluster.start, victim)
        await asyncio.wait_for(asyncio.gather(*clients), PHASE_DEADLINE_S)
        # Final linearizable reads of every key, through every node.
        for key in KEYS:
            for node in cluster.ids:
                await workload.one(session, client=0, node=node, kind="get", key=key, value=None)
        return victim


def test_kill_the_leader_under_load_history_is_linearizable(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    try:
        cluster.start_all()
        workload = Workload(cluster, seed=7)
        victim = asyncio.run(drive(cluster, workload, tmp_path))
        cluster.wait_healthy(victim)

        writes = [op for op in workload.history if op.kind != "get"]
        acked = [op for op in writes if op.complete is not None]
        assert len(acked) >= len(writes) // 2, "too few writes acknowledged to mean anything"
        result = check_history(workload.history)
        assert result.ok, result.render()

        def converged() -> bool:
            applied = [cluster.status(k)["applied_index"] for k in cluster.ids]
            return len(set(applied)) == 1

        poll("every node applies the same prefix", converged, FAILOVER_DEADLINE_S)
        for key in KEYS:
            answers = [
                cluster.request(k, "GET", f"/v1/kv/{key}?consistency=stale") for k in cluster.ids
            ]
            assert len({repr(a) for a in answers}) == 1, f"nodes disagree on {key}: {answers}"
        # GoPaxos' `make diff`: every slot agrees on a majority, no node holds another value.
        assert main(["check", "logs", "--config", str(cluster.config)]) == 0
        print(
            f"{len(workload.history)} operations, {len(acked)} acknowledged writes, "
            f"{workload.unknown} unknown outcomes; killed node {victim}"
        )
    finally:
        cluster.close()
