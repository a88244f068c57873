"""`GET /`: the cluster's status page, a page an operator keeps open.

One static HTML file (`static/status.html`: markup, style and script in one, no build step, no
file from elsewhere) that draws what `GET /v1/cluster/events` streams: every member with its
role, health, view, ballot, indexes, lag behind the leader, quorum, requests per second and
latency, and the time since its node last heard from it. Every value goes into the page as
text (`textContent`), never as markup: keys, ids and error messages come from outside.

When the node serving the page stops answering, the script fetches `GET /v1/cluster/status`
from the other members (the routes allow any origin) and shows the cluster as the first that
answers sees it, under a banner that says so, until the page's own node is back.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

REFRESH_S = 1
"""Seconds between two views the page receives."""


@cache
def status_page() -> bytes:
    """The page (the same bytes for every node and every request)."""
    return files("pyxos.service").joinpath("static/status.html").read_bytes()
