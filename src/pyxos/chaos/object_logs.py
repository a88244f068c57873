"""Log agreement for a protocol with a log per object (WPaxos), from the nodes' HTTP API.

With one log, the nodes' `/log/print` lines are compared slot by slot. With a log per object a
node's positions interleave the objects in the order it learned them, which differs between
nodes; what they must agree on is each object's own log. So: every node lists the objects it
has applied (`GET /log/objects`), and for each object in any node's list, every node's
`/log/print/dump?object=...` is compared slot by slot, as one log is
(`pyxos.check.logs.check_log_prints`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import quote

import aiohttp

from pyxos.check.logs import check_log_prints
from pyxos.runtime.config import HostPort

PROBLEM_OBJECTS_SHOWN_MAX = 5
FETCH_CONCURRENCY = 16


async def check_object_logs(
    session: aiohttp.ClientSession,
    http: Mapping[int, HostPort],
    *,
    members: int,
    timeout_s: float,
) -> tuple[bool, str]:
    """`(ok, report)`: every object's log agrees across the nodes at `http` (node -> address)."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def objects_of(k: int) -> set[str] | None:
        try:
            async with session.get(f"http://{http[k]}/log/objects", timeout=timeout) as r:
                body = await r.json() if r.status == 200 else None
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            return None
        if not isinstance(body, dict):
            return None
        return {entry["object"] for entry in body.get("objects", ())}

    async def print_of(k: int, obj: str) -> str | None:
        url = f"http://{http[k]}/log/print/dump?object={quote(obj, safe='')}"
        async with gate:
            try:
                async with session.get(url, timeout=timeout) as r:
                    return await r.text() if r.status == 200 else None
            except (aiohttp.ClientError, OSError, TimeoutError):
                return None

    nodes = sorted(http)
    listed = await asyncio.gather(*(objects_of(k) for k in nodes))
    silent = [k for k, objects in zip(nodes, listed, strict=True) if objects is None]
    if silent:
        return False, f"nodes {silent} did not list their objects\n"
    objects = sorted(set().union(*(o for o in listed if o is not None)))
    failed: list[str] = []
    for obj in objects:
        texts = await asyncio.gather(*(print_of(k, obj) for k in nodes))
        prints = {k: t for k, t in zip(nodes, texts, strict=True) if t is not None}
        if len(prints) < len(nodes):
            missing = sorted(set(nodes) - set(prints))
            failed.append(f"object {obj!r}: nodes {missing} did not print its log\n")
            continue
        ok, report = check_log_prints(prints, members)
        if not ok:
            failed.append(f"object {obj!r}: {report}")
    if failed:
        shown = "".join(failed[:PROBLEM_OBJECTS_SHOWN_MAX])
        more = len(failed) - PROBLEM_OBJECTS_SHOWN_MAX
        tail = f"... and {more} more objects\n" if more > 0 else ""
        return False, f"{len(failed)} of {len(objects)} objects' logs disagree\n{shown}{tail}"
    return True, (
        f"compared the logs of {len(objects)} objects on nodes {', '.join(map(str, nodes))}\n"
        f"OK: every object's every slot agrees on a majority ({members // 2 + 1} of {members} "
        "members)\n"
    )
