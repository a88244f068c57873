"""pyxos: Multi-Paxos consensus in Python.

The protocol core (`pyxos.core`) is pure: `Replica.step(input) -> effects`. The simulator
(`pyxos.sim`) and the asyncio runtime (`pyxos.runtime`) drive it. `pyxos.check` checks client
histories for linearizability. `pyxos.Client` and `pyxos.AsyncClient` (from `pyxos.client`) talk
to a running cluster; `pyxos.Node` and `pyxos.SyncNode` (from `pyxos.embed`) run a node inside
your own program, replicating your own `pyxos.Machine`. Both are imported on first use, so that
`import pyxos` stays light.

The errors are one tree (`pyxos.errors`): `except pyxos.Timeout` catches a timeout of the
client, the async client and the embedded node alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyxos.errors import (
    BadRequest,
    CasMismatch,
    CommandFailed,
    NoQuorum,
    ProtocolError,
    PyxosError,
    QueueEmpty,
    RequestId,
    Timeout,
    TooLarge,
    Unavailable,
    UnsupportedByProtocol,
    VersionConflict,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pyxos.client import AsyncClient, Client
    from pyxos.client.errors import HeldByYou, LockHeld, LockWaitTimeout, NotHolder, StaleToken
    from pyxos.embed import (
        AppliedCommand,
        ApplyContext,
        Call,
        Machine,
        Node,
        Replicated,
        RoleChange,
        SyncNode,
        builtin_machines,
        local_config,
        replicated,
    )

__all__ = [
    "AppliedCommand",
    "ApplyContext",
    "AsyncClient",
    "BadRequest",
    "Call",
    "CasMismatch",
    "Client",
    "CommandFailed",
    "HeldByYou",
    "LockHeld",
    "LockWaitTimeout",
    "Machine",
    "NoQuorum",
    "Node",
    "NotHolder",
    "ProtocolError",
    "PyxosError",
    "QueueEmpty",
    "Replicated",
    "RequestId",
    "RoleChange",
    "StaleToken",
    "SyncNode",
    "Timeout",
    "TooLarge",
    "Unavailable",
    "UnsupportedByProtocol",
    "VersionConflict",
    "__version__",
    "builtin_machines",
    "local_config",
    "replicated",
]
_CLIENT = frozenset({"AsyncClient", "Client"})
_LEASE_ERRORS = frozenset({"HeldByYou", "LockHeld", "LockWaitTimeout", "NotHolder", "StaleToken"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT:
        import pyxos.client

        return getattr(pyxos.client, name)
    if name in _LEASE_ERRORS:
        import pyxos.client.errors

        return getattr(pyxos.client.errors, name)
    if name in __all__:
        import pyxos.embed

        return getattr(pyxos.embed, name)
    raise AttributeError(f"module 'pyxos' has no attribute {name!r}")
