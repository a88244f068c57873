"""Where the nodes are: endpoint lists as users write them, and addresses a client can dial."""

from __future__ import annotations

from collections.abc import Sequence

from pyxos.runtime.config import HostPort, parse_host_port

WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
"""Hosts a node listens on that no client can dial, and the loopback address to use instead."""


def parse_endpoints(endpoints: str | Sequence[str]) -> list[HostPort]:
    """`"h:p,h:p"` or `["h:p", ...]` as addresses; raises `ValueError` naming a bad one."""
    items = endpoints.split(",") if isinstance(endpoints, str) else list(endpoints)
    addresses = []
    for item in items:
        if not item.strip():
            continue
        try:
            addresses.append(reachable(parse_host_port(item)))
        except ValueError as exc:
            raise ValueError(f"bad endpoint: {exc}") from None
    if not addresses:
        raise ValueError("no endpoint given")
    return addresses


def reachable(address: HostPort) -> HostPort:
    """`address`, with a wildcard host (a node listening on every interface) replaced by this
    host's loopback."""
    host = WILDCARDS.get(address.host)
    return address if host is None else HostPort(host=host, port=address.port)
