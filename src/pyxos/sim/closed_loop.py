"""The closed loop every simulated client runs: one operation at a time, retried until answered.

A client sends its request to a random node, preferring the one that answered it last; when no
answer comes within its timeout it sends the *same* request (same `seq` or `read_id`) to another
random node, forever, so a write is never abandoned and its `seq` stays unique. A reply for
anything but the current request is ignored. Every operation becomes one history entry:
`invoke` at its first send, `complete` at its first reply (None while none came).

Subclasses decide what to send next (`_next_request`), what an answer means (`_read`) and how a
history entry looks (`_entry`). The order of the draws from the client's generator is part of
every seed's transcript: the subclass's draws for the operation come first, then the target's.
"""

from __future__ import annotations

from random import Random
from typing import Generic, TypeVar

from pyxos.node.client_messages import (
    ClientInbound,
    ClientOutbound,
    ClientRead,
    ClientReply,
    ClientRequest,
)

EntryT = TypeVar("EntryT")
OutputT = TypeVar("OutputT")


class ClosedLoopClient(Generic[EntryT, OutputT]):
    """One client process; its address is also its `client_id` (never 0, never a node id).

    `EntryT` is the type of its history entries, `OutputT` that of their outputs.
    """

    __slots__ = (
        "_invoke_us",
        "_rng",
        "address",
        "attempt",
        "history",
        "in_flight",
        "last_good",
        "nodes",
        "op_number",
        "ops_left",
        "request",
        "target",
        "timeout_us_max",
        "timeout_us_min",
    )

    def __init__(
        self,
        address: int,
        rng: Random,
        *,
        nodes: tuple[int, ...],
        ops: int,
        timeout_us_min: int,
        timeout_us_max: int,
    ) -> None:
        if address <= 0 or address in nodes:
            raise ValueError(f"client address {address} must be positive and not a node id")
        self.address = address
        self._rng = rng
        self.nodes = nodes
        self.ops_left = ops
        self.timeout_us_min = timeout_us_min
        self.timeout_us_max = timeout_us_max
        self.op_number = 0
        self.attempt = 0
        self.in_flight = False
        self.request: ClientInbound | None = None
        self.target = nodes[0]
        self.last_good: int | None = None
        self.history: list[EntryT] = []
        self._invoke_us = 0
        self._init_state()

    def _init_state(self) -> None:
        """A subclass's own fields, set up at the end of `__init__` (so that a subclass that
        adds no constructor argument need not repeat the constructor)."""

    def timeout_us(self) -> int:
        low = self.timeout_us_min
        return low + int(self._rng.random() * (self.timeout_us_max - low + 1))

    def start(self, now_us: int) -> ClientInbound:
        """Begin the next operation; returns the request to send to `self.target`."""
        if self.in_flight or self.ops_left <= 0:
            raise RuntimeError(f"client {self.address} cannot start an operation now")
        request = self._next_request()
        self.ops_left -= 1
        self.op_number += 1
        self.attempt = 1
        self.in_flight = True
        self._invoke_us = now_us
        self.request = request
        rng = self._rng
        if self.last_good is not None and rng.random() < 0.9:
            self.target = self.last_good
        else:
            self.target = self.nodes[int(rng.random() * len(self.nodes))]
        return request

    def retry(self) -> ClientInbound:
        """The current request timed out: the same request, to another node (`self.target`)."""
        if not self.in_flight or self.request is None:
            raise RuntimeError(f"client {self.address} has nothing to retry")
        self.attempt += 1
        if len(self.nodes) > 1:
            others = [n for n in self.nodes if n != self.target]
            self.target = others[int(self._rng.random() * len(others))]
        return self.request

    def on_reply(self, now_us: int, sender: int, message: ClientOutbound) -> bool:
        """Handle a reply; True if it completed the current operation."""
        request = self.request
        if not self.in_flight or request is None:
            return False
        if isinstance(message, ClientReply):
            if not isinstance(request, ClientRequest) or message.seq != request.seq:
                return False
        elif not isinstance(request, ClientRead) or message.read_id != request.read_id:
            return False
        output = self._read(message.result)
        self.history.append(self._entry(complete=now_us, output=output))
        self.in_flight = False
        self.request = None
        self.last_good = sender
        return True

    def pending(self) -> EntryT | None:
        """The operation still in flight, as an unknown-outcome history entry."""
        return self._entry(complete=None, output=None) if self.in_flight else None

    @property
    def done(self) -> bool:
        """True when the client has nothing in flight and nothing left to issue."""
        return not self.in_flight and self.ops_left <= 0

    # ---- what subclasses decide -------------------------------------------------------------
    def _next_request(self) -> ClientInbound:
        """Choose the next operation, remember what the history needs of it, and return its
        request (with a fresh `seq` or `read_id`)."""
        raise NotImplementedError

    def _read(self, result: bytes) -> OutputT:
        """The history's output for the answer `result` to the current operation."""
        raise NotImplementedError

    def _entry(self, *, complete: int | None, output: OutputT | None) -> EntryT:
        """The current operation as a history entry."""
        raise NotImplementedError
