"""The status page in a real headless browser, on a real three-node cluster: it shows every
member, follows a node's death live, goes on through another member when its own node dies
(and says so), shows the loss of quorum, and fits a phone's screen."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from headless_browser import Page, chromium_or_skip, headless_page

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cli"))

from cli_cluster import FAILOVER_DEADLINE_S, ClientCluster, started_cluster

ROWS = """[...document.querySelectorAll('#members tr')].map(r => ({
  node: r.dataset.node, health: r.dataset.health, role: r.dataset.role, quorum: r.dataset.quorum
}))"""
SUMMARY = """({state: document.getElementById('summary').dataset.state,
  text: document.getElementById('summary').textContent,
  banner: document.getElementById('banner').hidden ? '' : document.getElementById('banner')
    .textContent})"""
PHONE = """({wide: document.documentElement.scrollWidth, screen: window.innerWidth,
  row: getComputedStyle(document.querySelector('#members tr')).display})"""


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientCluster]:
    chromium_or_skip()  # before the cluster starts: skipping is then cheap
    with started_cluster(tmp_path_factory) as started:
        yield started


async def until(page: Page, expression: str, check: Callable[[Any], bool], what: str) -> Any:
    """Evaluate `expression` until `check` holds for its value; fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FAILOVER_DEADLINE_S
    value = None
    while loop.time() < deadline:
        value = await page.evaluate(expression)
        if check(value):
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not seen within {FAILOVER_DEADLINE_S:g} s; last: {value}")


def test_the_page_follows_the_cluster_live(cluster: ClientCluster, tmp_path: Path) -> None:
    leader = cluster.settled()
    serving = next(k for k in cluster.ids if k != leader)  # the page's node: a follower
    first = leader
    second = next(k for k in cluster.ids if k not in (serving, leader))

    async def scenario() -> None:
        async with headless_page(tmp_path / "profile") as page:
            await page.phone()
            await page.navigate(f"http://{cluster.http[serving]}/")
            rows = await until(
                page,
                ROWS,
                lambda rows: [r["health"] for r in rows] == ["up"] * 3,
                "every member up",
            )
            assert [r["node"] for r in rows] == ["1", "2", "3"]
            assert sorted(r["role"] for r in rows) == ["follower", "follower", "leader"]
            assert rows[leader - 1]["role"] == "leader"
            summary = await page.evaluate(SUMMARY)
            assert summary["state"] == "quorum" and summary["banner"] == ""
            assert summary["text"] == f"quorum: leader {leader}, 3 of 3 members up"
            # A phone: nothing wider than the screen; each member is a card, not a row.
            phone = await page.evaluate(PHONE)
            assert phone["wide"] <= phone["screen"] and phone["row"] == "grid"

            cluster.kill(first)  # the leader: the cluster elects another and keeps quorum
            rows = await until(
                page,
                ROWS,
                lambda rows: (
                    rows[first - 1]["health"] == "down"
                    and sum(r["role"] == "leader" for r in rows) == 1
                ),
                f"node {first} down, a leader among the others",
            )
            await until(
                page, SUMMARY, lambda s: s["state"] == "quorum", "quorum with one node down"
            )

            # The page's own node dies: the page shows the cluster as the last member sees it
            # (a majority is gone now: no quorum), and says so.
            cluster.kill(serving)
            summary = await until(
                page, SUMMARY, lambda s: s["state"] == "no-quorum", "the loss of quorum"
            )
            assert summary["text"].startswith("NO QUORUM")
            down = ", ".join(map(str, sorted((first, serving))))
            assert f"1 of 3 members up ({down} down)" in summary["text"]
            assert f"Showing the cluster as node {second} sees it" in summary["banner"]
            rows = await page.evaluate(ROWS)
            assert [r["health"] for r in rows] == [
                "up" if k == second else "down" for k in cluster.ids
            ]
            assert [r["quorum"] for r in rows] == ["no", "no", "no"]

            cluster.kill(second)  # nobody left to ask: the page says its figures are old
            summary = await until(
                page, SUMMARY, lambda s: "Lost contact" in s["banner"], "every node lost"
            )
            assert summary["state"] == "unknown"

    asyncio.run(scenario())
