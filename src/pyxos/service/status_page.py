"""`GET /`: a node's status as a small HTML page that a person can leave open in a browser.

It refreshes itself every `REFRESH_S` seconds with a `<meta http-equiv="refresh">` (no
JavaScript), and every value on it goes through `html.escape`: keys, ids and counter names all
come from outside the page. Nodes (this one, the leader, the connected peers) are shown by
name, as the cluster file writes them (`1.2` in a zoned cluster), when the status gives names.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

REFRESH_S = 2
_SUMMARY = (
    ("node", "node"),
    ("cluster", "cluster"),
    ("role", "role"),
    ("leader", "leader"),
    ("view", "view"),
    ("ballot", "ballot"),
    ("decided_index", "decided index"),
    ("applied_index", "applied index"),
    ("durable_records", "durable records"),
    ("unsynced_records", "unsynced records"),
    ("inbox", "inbox"),
    ("clients_in_use", "clients in use"),
    ("peers_connected", "peers connected"),
)
_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #ccc;padding:.25em .75em;text-align:left}"
    "th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}"
)


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def _table(title: str, rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(name)}</th><td class=n>{html.escape(_text(value))}</td></tr>"
        for name, value in rows
    )
    return f"<h2>{html.escape(title)}</h2><table>{body}</table>"


def _named(status: Mapping[str, Any]) -> dict[str, Any]:
    """`status` with node ids replaced by their names where `members` gives them: the leader
    and the connected peers (the node's own name is the `name` field)."""
    members = status.get("members")
    if not isinstance(members, Mapping):
        return dict(status)
    names = {
        node: entry.get("name") for node, entry in members.items() if isinstance(entry, Mapping)
    }

    def name(node: Any) -> Any:
        return names.get(str(node)) or node

    named = dict(status)
    if status.get("leader") is not None:
        named["leader"] = name(status["leader"])
    if isinstance(status.get("peers_connected"), list | tuple):
        named["peers_connected"] = [name(p) for p in status["peers_connected"]]
    return named


def render_status_page(status: Mapping[str, Any]) -> str:
    """The whole page for `status` (a node's `/status` body)."""
    node = html.escape(_text(status.get("name", status.get("node"))))
    role = html.escape(_text(status.get("role")))
    named = _named(status)
    summary = [(label, named[field]) for field, label in _SUMMARY if field in named]
    name = status.get("name")
    if name is not None and name != str(status.get("node")):
        # A zoned name (`1.2`) first, then the integer id it stands for.
        rest = [row for row in summary if row[0] != "node"]
        summary = [("node", name), ("node id", status.get("node")), *rest]
    sections = [_table("Node", summary)]
    counters = status.get("counters", {})
    if counters:
        sections.append(_table("Counters", sorted(counters.items())))
    transport = status.get("transport", {})
    if transport:
        sections.append(_table("Peer transport", sorted(transport.items())))
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{REFRESH_S}">'
        # An empty icon: no browser request for /favicon.ico, which is a Paxi key route.
        '<link rel="icon" href="data:,">'
        f"<title>pyxos node {node} ({role})</title><style>{_STYLE}</style></head><body>"
        f"<h1>pyxos node {node}: {role}</h1>"
        + "".join(sections)
        + "<p>JSON: <a href=/status>/status</a> · metrics: <a href=/metrics>/metrics</a>"
        " · API: <a href=/openapi.json>/openapi.json</a></p></body></html>\n"
    )
