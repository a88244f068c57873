"""pyxos: Multi-Paxos consensus in Python.

The protocol core (`pyxos.core`) is pure: `Replica.step(input) -> effects`. The simulator
(`pyxos.sim`) and the asyncio runtime (`pyxos.runtime`) drive it. `pyxos.check` checks client
histories for linearizability. `pyxos.Client` and `pyxos.AsyncClient` (from `pyxos.client`,
imported on first use so that `import pyxos` stays light) talk to a running cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pyxos.client import AsyncClient, Client

__all__ = ["AsyncClient", "Client", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Client", "AsyncClient"):
        import pyxos.client

        return getattr(pyxos.client, name)
    raise AttributeError(f"module 'pyxos' has no attribute {name!r}")
