"""The Python client of a pyxos cluster, over the fast client protocol.

    from pyxos.client import Client

    with Client(["127.0.0.1:9000", "127.0.0.1:9001"]) as kv:
        kv.put("greeting", "hello")
        assert kv.get("greeting") == b"hello"

`Client` blocks; `AsyncClient` is the same for asyncio. Errors are in `pyxos.client.errors`.
See docs/client.md.
"""

from pyxos.client.async_client import AsyncClient, Listing
from pyxos.client.errors import (
    BadRequest,
    CasMismatch,
    NoQuorum,
    PyxosError,
    Timeout,
    TooLarge,
    Unavailable,
)
from pyxos.client.sync_client import Client

__all__ = [
    "AsyncClient",
    "BadRequest",
    "CasMismatch",
    "Client",
    "Listing",
    "NoQuorum",
    "PyxosError",
    "Timeout",
    "TooLarge",
    "Unavailable",
]
