"""`/metrics`: a node's status in the Prometheus text exposition format (version 0.0.4).

Written by hand (a few dozen lines, no dependency): every counter of `status().counters`
becomes `pyxos_<name>_total`, every transport counter `pyxos_transport_<name>_total`, the
indexes and queue sizes gauges, and the role `pyxos_is_leader` (1 or 0). A counter the runner
adds later shows up on its own, with a generic HELP line; so do the fast client server's
counters (`pyxos_client_server_<name>_total`). HTTP requests are counted by method,
route and status in `pyxos_http_requests_total`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import msgspec
from aiohttp import web
from aiohttp.typedefs import Middleware

from pyxos.runtime.status import NodeStatus
from pyxos.service.errors import Handler

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_RUNNER_COUNTERS = {
    "steps": "Inputs the node has stepped (messages, client requests, ticks).",
    "syncs": "Group-commit rounds: one fsync each.",
    "records_synced": "Log records made durable.",
    "peer_messages_dropped": "Peer messages dropped because the inbox was full.",
    "client_requests_refused": "Client requests refused because the inbox was full.",
    "client_retries": "Client requests handed to the node again after no answer.",
    "client_timeouts": "Client requests that got no answer before their deadline.",
    "snapshots_saved": "Snapshots handed to the log store.",
}
_GAUGES = {
    "decided_index": ("pyxos_decided_index", "The highest slot decided in order."),
    "applied_index": ("pyxos_applied_index", "The highest slot applied to the state machine."),
    "view": ("pyxos_view", "The view (election round) this node is in."),
    "durable_records": ("pyxos_durable_records", "Log records synced since the node started."),
    "unsynced_records": ("pyxos_unsynced_records", "Log records waiting for the disk."),
    "inbox": ("pyxos_inbox_inputs", "Inputs waiting in the node's inbox."),
    "clients_in_use": ("pyxos_clients_in_use", "Client ids of the node's pool in use."),
}
# Sections of `/status` whose fields are all counters.
_SECTIONS = {"transport": "Peer transport", "client_server": "Fast client protocol server"}
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _family(name: str, kind: str, help_text: str, samples: list[tuple[str, int]]) -> Iterator[str]:
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} {kind}"
    for labels, value in samples:
        yield f"{name}{labels} {value}"


class HttpCounters:
    """Requests answered, by method, route and status; `middleware` counts them."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}

    def middleware(self) -> Middleware:
        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            status = 500  # an exception that escapes every handler ends as a 500
            try:
                response = await handler(request)
                status = response.status
                return response
            finally:
                resource = request.match_info.route.resource
                route = "unmatched" if resource is None else resource.canonical
                # Only known methods become label values: a client must not be able to grow
                # the number of series without bound.
                method = request.method if request.method in _KNOWN_METHODS else "OTHER"
                key = (method, route, status)
                self.counts[key] = self.counts.get(key, 0) + 1

        return count


def render_metrics(status: NodeStatus, http: HttpCounters) -> str:
    """The exposition text of `status` (a node's `/status`) and the HTTP counts."""
    lines: list[str] = []
    cluster = "" if status.cluster is msgspec.UNSET else status.cluster
    info = {"node": str(status.node), "cluster": cluster, "role": status.role}
    lines += _family("pyxos_node_info", "gauge", "This node; the value is 1.", [(_labels(info), 1)])
    is_leader = int(status.role == "leader")
    lines += _family("pyxos_is_leader", "gauge", "1 if this node leads, else 0.", [("", is_leader)])
    lines += _family(
        "pyxos_leader_node",
        "gauge",
        "The leader this node knows of; 0 if none.",
        [("", status.leader or 0)],
    )
    for field, (name, help_text) in _GAUGES.items():
        lines += _family(name, "gauge", help_text, [("", int(getattr(status, field)))])
    if status.peers_connected is not msgspec.UNSET:
        count = len(status.peers_connected)
        lines += _family(
            "pyxos_peers_connected", "gauge", "Peers with an open connection.", [("", count)]
        )
    for field, value in sorted(msgspec.structs.asdict(status.counters).items()):
        help_text = _RUNNER_COUNTERS.get(field, f"Runner counter {field}.")
        lines += _family(f"pyxos_{field}_total", "counter", help_text, [("", int(value))])
    for section, title in _SECTIONS.items():
        counters = getattr(status, section)
        if counters is msgspec.UNSET:
            continue
        for field, value in sorted(counters.items()):
            help_text = f"{title}: {field.replace('_', ' ')}."
            name = f"pyxos_{section}_{field}_total"
            lines += _family(name, "counter", help_text, [("", int(value))])
    samples = [
        (_labels({"method": method, "route": route, "status": str(code)}), count)
        for (method, route, code), count in sorted(http.counts.items())
    ]
    lines += _family("pyxos_http_requests_total", "counter", "HTTP requests answered.", samples)
    return "\n".join(lines) + "\n"
