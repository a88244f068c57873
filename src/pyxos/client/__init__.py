"""The Python client of a pyxos cluster, over the fast client protocol.

    from pyxos.client import Client

    with Client(["127.0.0.1:9000", "127.0.0.1:9001"]) as kv:
        kv.put("greeting", "hello")
        assert kv.get("greeting") == b"hello"

`Client` blocks; `AsyncClient` is the same for asyncio. Both also offer leases with fencing
tokens, fenced writes, `ask`, queues and a versioned map (`pyxos.client.coordination`);
`AsyncClient` adds a lease refreshed in the background (`lock`) and elections (`campaign`).
Errors are in `pyxos.client.errors`.
See docs/client.md.
"""

from pyxos.client.async_client import AsyncClient, Listing
from pyxos.client.coordination import LeaseInfo
from pyxos.client.errors import (
    BadRequest,
    CasMismatch,
    HeldByYou,
    LockHeld,
    LockWaitTimeout,
    NoQuorum,
    NotHolder,
    PyxosError,
    QueueEmpty,
    StaleToken,
    Timeout,
    TooLarge,
    Unavailable,
    UnsupportedByProtocol,
    VersionConflict,
)
from pyxos.client.leases import Campaign, HeldLease
from pyxos.client.sync_client import Client

__all__ = [
    "AsyncClient",
    "BadRequest",
    "Campaign",
    "CasMismatch",
    "Client",
    "HeldByYou",
    "HeldLease",
    "LeaseInfo",
    "Listing",
    "LockHeld",
    "LockWaitTimeout",
    "NoQuorum",
    "NotHolder",
    "PyxosError",
    "QueueEmpty",
    "StaleToken",
    "Timeout",
    "TooLarge",
    "Unavailable",
    "UnsupportedByProtocol",
    "VersionConflict",
]
