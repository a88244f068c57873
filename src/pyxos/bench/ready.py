"""Waiting for a cluster to be ready to measure: every node names the same leader."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

POLL_S = 0.05


def leader_of(http_endpoint: str) -> int | None:
    """The leader node `http_endpoint`'s `/status` names, or None (none, or no answer)."""
    base = http_endpoint if "://" in http_endpoint else f"http://{http_endpoint}"
    try:
        with urllib.request.urlopen(f"{base}/status", timeout=1) as answer:
            status = json.loads(answer.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    leader = status.get("leader") if isinstance(status, dict) else None
    return leader if isinstance(leader, int) else None


def wait_for_leader(http_endpoints: Sequence[str], deadline_s: float) -> int:
    """Poll until every node names the same leader; that leader. Raises `TimeoutError` past
    `deadline_s` seconds."""
    deadline = time.monotonic() + deadline_s
    while True:
        leaders = {leader_of(e) for e in http_endpoints}
        if len(leaders) == 1 and (leader := leaders.pop()) is not None:
            return leader
        if time.monotonic() > deadline:
            raise TimeoutError(f"no leader known to every node within {deadline_s:g}s")
        time.sleep(POLL_S)
