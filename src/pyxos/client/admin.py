"""Finding a cluster's members and reading their HTTP routes, for the command-line tools.

A tool is pointed at a cluster by its cluster file (every member's addresses) or by client
addresses: then one reachable node's status names every member (`status.members`, each
with its HTTP and client address and its name). The HTTP routes of each member (`/status`,
`/log/print/...`, `/crash`) are then read with the standard library, one request each.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyxos.client.async_client import DEFAULT_ENDPOINT
from pyxos.client.endpoints import reachable
from pyxos.client.errors import PyxosError
from pyxos.client.sync_client import Client
from pyxos.runtime.config import HostPort, load_config, parse_host_port
from pyxos.runtime.status import UNSET, MemberAddress


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    node: int
    http: HostPort
    client: HostPort
    name: str = ""
    """The id as the cluster file writes it (`"1.2"` in a zoned cluster); "" if unknown."""

    @property
    def label(self) -> str:
        """The name, or the integer id when the name is unknown (a node that names none)."""
        return self.name or str(self.node)


def members_from_config(path: str | Path) -> list[Member]:
    """Every member of the cluster file; raises `ConfigError`."""
    config = load_config(path)
    return [
        Member(
            node=spec.node_id,
            http=reachable(spec.http),
            client=reachable(spec.client),
            name=config.name(spec.node_id),
        )
        for spec in config.nodes
    ]


def members_from_endpoints(
    endpoints: str | Sequence[str], *, timeout_s: float = 5.0
) -> list[Member]:
    """Every member, as the first reachable node at `endpoints` (client addresses) knows them.

    Raises `PyxosError` (`Unavailable` when no node answers), `ValueError` for a bad address.
    """
    with Client(endpoints, timeout_s=timeout_s, attempt_timeout_s=timeout_s) as client:
        status = client.status()
    members = status.members
    if members is UNSET:  # a node that names no members: itself, if it says where it serves
        if status.http is UNSET or status.client is UNSET:
            raise PyxosError("the node's status does not say where its members serve")
        members = {str(status.node): MemberAddress(http=status.http, client=status.client)}
    try:
        return sorted(
            (
                Member(
                    node=int(node),
                    http=reachable(parse_host_port(entry.http)),
                    client=reachable(parse_host_port(entry.client)),
                    name=entry.name,
                )
                for node, entry in members.items()
            ),
            key=lambda m: m.node,
        )
    except ValueError as exc:
        raise PyxosError(f"the node's status names a member badly: {exc}") from None


def find_members(
    *, config: str | Path | None, endpoints: str | None, timeout_s: float = 5.0
) -> list[Member]:
    """The members from `config` if given, else from `endpoints` (default: `pyxos up`'s)."""
    if config is not None:
        return members_from_config(config)
    return members_from_endpoints(endpoints or DEFAULT_ENDPOINT, timeout_s=timeout_s)


def http_get(address: HostPort, path: str, *, timeout_s: float = 5.0) -> tuple[int, bytes]:
    """`(HTTP status, body)` of `GET path` on `address`. Raises `OSError` if the node does not
    answer (connection refused, timed out)."""
    url = f"http://{address}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise OSError(getattr(reason, "strerror", None) or str(reason)) from None


def http_json(address: HostPort, path: str, *, timeout_s: float = 5.0) -> tuple[int, Any]:
    """`(HTTP status, decoded JSON body)`; raises `OSError` as `http_get`, `ValueError` if the
    body is not JSON."""
    status, body = http_get(address, path, timeout_s=timeout_s)
    return status, json.loads(body)
