"""The client sessions an embedded node proposes under, so that a retry is exactly-once.

The replicated session table keeps, per client id, the last applied seq and its result, and
assumes one command at a time per id (`pyxos.machines.sessions`). The node therefore owns a
pool of client ids, from `CLIENT_ID_MIN` up, each with its own seq; a command holds one id
while it runs. Seqs start at `seq_base` (from the boot counter), so an id reused after a
restart never goes back.

A command that timed out leaves its id *parked*: taken again only after every other free id,
so that retrying it with its `RequestId` soon after still finds the session where it left it
(and is answered from the table if it was applied). A retry whose id has moved on since is
refused: its session no longer remembers the outcome.
"""

from __future__ import annotations

from collections import deque

from pyxos.embed.errors import RequestId
from pyxos.runtime.requests import CLIENT_ID_MIN

SLOT_BITS = 20


class SessionPool:
    __slots__ = ("_base", "_busy", "_free", "_seq")

    def __init__(self, node_id: int, size: int, seq_base: int) -> None:
        if not 0 < size < 1 << SLOT_BITS:
            raise ValueError(f"a session pool holds 1 to {(1 << SLOT_BITS) - 1} ids")
        self._base = CLIENT_ID_MIN + ((node_id & 0xFFFFFF) << SLOT_BITS)
        self._free: deque[int] = deque(range(1, size + 1))
        self._seq = [seq_base] * (size + 1)
        self._busy: set[int] = set()

    def acquire(self) -> RequestId:
        """A fresh request id; `IndexError` when every id is in use."""
        slot = self._free.popleft()
        self._busy.add(slot)
        self._seq[slot] += 1
        return RequestId(self._base + slot, self._seq[slot])

    def reacquire(self, request_id: RequestId) -> None:
        """Hold `request_id` again for a retry; `ValueError` if this pool did not issue it, it is
        running now, or its session has moved on."""
        slot = request_id.client_id - self._base
        if not 0 < slot < len(self._seq) or self._seq[slot] != request_id.seq:
            raise ValueError(f"{request_id} can no longer be retried on this node")
        if slot in self._busy:
            raise ValueError(f"{request_id} is running now")
        self._free.remove(slot)
        self._busy.add(slot)

    def release(self, request_id: RequestId, *, park: bool) -> None:
        """The command ended: answered (`park=False`) or with an unknown outcome (`park`)."""
        slot = request_id.client_id - self._base
        self._busy.discard(slot)
        if park:
            self._free.append(slot)
        else:
            self._free.appendleft(slot)

    @property
    def in_use(self) -> int:
        return len(self._busy)
