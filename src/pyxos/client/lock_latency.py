"""Release-to-grant latency of a lease wait, on a running cluster.

    python -m pyxos.client.lock_latency --config cluster.toml --rounds 500

Each round one owner holds the lock and another waits for it (`lock_wait`); the holder then
releases. The figure is the time from sending the release to the waiter receiving its grant:
the release is one command that also grants the first waiter, and the node holding the wait
answers when it applies that command, so it should cost one commit, not a polling interval.
The release call's own latency is measured beside it for comparison. Both owners share one
client connection, so that their clocks are one and the wait is queued before the release (it
is sent first, and the holder's refresh sent after it is answered first).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence

from pyxos.client.async_client import AsyncClient

LOCK = "bench/lock-latency"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(
    client: AsyncClient, rounds: int, ttl_s: float
) -> tuple[list[float], list[float]]:
    """`(release-to-grant, release call)` latencies in ms, one per round."""
    owners = ("bench-a", "bench-b")
    lease = await client.lock_wait(LOCK, owners[0], ttl_s, timeout_s=30)
    holder = 0
    grants: list[float] = []
    releases: list[float] = []
    for _ in range(rounds):
        assert lease.token is not None
        waiter = 1 - holder
        wait = asyncio.ensure_future(client.lock_wait(LOCK, owners[waiter], ttl_s, timeout_s=30))
        await client.lock_refresh(LOCK, owners[holder], lease.token, ttl_s)
        sent = time.perf_counter()
        release = asyncio.ensure_future(client.lock_release(LOCK, owners[holder], lease.token))
        lease = await wait
        granted = time.perf_counter()
        await release
        released = time.perf_counter()
        grants.append((granted - sent) * 1000)
        releases.append((released - sent) * 1000)
        holder = waiter
    assert lease.token is not None
    await client.lock_release(LOCK, owners[holder], lease.token)
    return grants, releases


def _line(name: str, samples: list[float]) -> str:
    return (
        f"{name}: p50 {percentile(samples, 50):.2f} ms, p99 {percentile(samples, 99):.2f} ms, "
        f"mean {statistics.fmean(samples):.2f} ms, max {max(samples):.2f} ms"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyxos.client.lock_latency", description=__doc__.split("\n\n")[0]
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", metavar="FILE", help="the cluster file")
    where.add_argument("--endpoints", metavar="HOST:PORT,...", help="client addresses")
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--ttl", type=float, default=10.0, help="lease seconds (default 10)")
    args = parser.parse_args(argv)

    async def run() -> tuple[list[float], list[float]]:
        async with AsyncClient(args.endpoints, config=args.config) as client:
            await measure(client, min(args.rounds, 20), args.ttl)  # warm up
            return await measure(client, args.rounds, args.ttl)

    grants, releases = asyncio.run(run())
    print(f"{len(grants)} rounds")
    print(_line("release-to-grant", grants))
    print(_line("release call", releases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
