"""The identities and outcomes of client requests a node runs for its clients.

Each request runs under a `(client_id, seq)` session: from the node's own pool (`ClientPool`,
ids `node << 32 | slot`), or one a client keeps itself (ids from `CLIENT_ID_MIN` on). A request
ends with an answer, `Unavailable` (nothing was submitted), `Timeout` (the outcome is unknown)
or `NoQuorum` (a `Timeout` of a node that cannot reach a quorum). They are `pyxos.errors`'
classes, so the embedded node and the client raise the very errors the runtime does.
"""

from __future__ import annotations

from pyxos.core.ids import NodeId
from pyxos.errors import NoQuorum, Timeout, Unavailable

CLIENT_ID_MIN = 1 << 48
"""Client ids a client chooses itself start here; below are the nodes' pools (`node << 32`)."""


RequestTimeout = Timeout
"""The runtime's first name for `pyxos.errors.Timeout`, kept for the code that imports it."""

__all__ = [
    "CLIENT_ID_MIN",
    "ClientPool",
    "NoQuorum",
    "RequestTimeout",
    "Timeout",
    "Unavailable",
]


class ClientPool:
    """Client ids for the requests of one node: `node_id << 32 | slot`, slots 1..size."""

    __slots__ = ("_free", "_node_id", "_seq")

    def __init__(self, node_id: NodeId, size: int, seq_base: int) -> None:
        self._node_id = node_id
        # LIFO: the same few ids serve a light load, so few sessions are ever created.
        self._free = list(range(size, 0, -1))
        self._seq = [seq_base] * (size + 1)

    def acquire(self) -> tuple[int, int]:
        """A free `(client_id, seq)`; raises `Unavailable` when every id is in use."""
        if not self._free:
            raise Unavailable("every client id of this node is in use")
        slot = self._free.pop()
        self._seq[slot] += 1
        return self._node_id << 32 | slot, self._seq[slot]

    def release(self, client_id: int) -> None:
        self._free.append(client_id & 0xFFFFFFFF)

    @property
    def in_use(self) -> int:
        return len(self._seq) - 1 - len(self._free)
