"""pyxos: Multi-Paxos consensus in Python.

The protocol core (`pyxos.core`) is pure: `Replica.step(input) -> effects`. The simulator
(`pyxos.sim`) and the asyncio runtime (`pyxos.runtime`) drive it. `pyxos.check` checks client
histories for linearizability. `pyxos.Client` and `pyxos.AsyncClient` (from `pyxos.client`) talk
to a running cluster; `pyxos.Node` and `pyxos.SyncNode` (from `pyxos.embed`) run a node inside
your own program, replicating your own `pyxos.Machine`. Both are imported on first use, so that
`import pyxos` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pyxos.client import AsyncClient, Client
    from pyxos.embed import (
        AppliedCommand,
        ApplyContext,
        CommandFailed,
        Machine,
        Node,
        NoQuorum,
        PyxosError,
        Replicated,
        RequestId,
        RoleChange,
        SyncNode,
        Timeout,
        Unavailable,
        builtin_machines,
        local_config,
        replicated,
    )

__all__ = [
    "AppliedCommand",
    "ApplyContext",
    "AsyncClient",
    "Client",
    "CommandFailed",
    "Machine",
    "NoQuorum",
    "Node",
    "PyxosError",
    "Replicated",
    "RequestId",
    "RoleChange",
    "SyncNode",
    "Timeout",
    "Unavailable",
    "__version__",
    "builtin_machines",
    "local_config",
    "replicated",
]
_CLIENT = frozenset({"AsyncClient", "Client"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT:
        import pyxos.client

        return getattr(pyxos.client, name)
    if name in __all__:
        import pyxos.embed

        return getattr(pyxos.embed, name)
    raise AttributeError(f"module 'pyxos' has no attribute {name!r}")
