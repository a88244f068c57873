"""Simulated clients: closed-loop sessions that retry until they get an answer.

Each client has one operation outstanding at a time. Writes (`put`, `delete`, `cas`) are
`ClientRequest`s numbered `seq` 1, 2, 3, ... (the node's session table applies each once);
reads are linearizable `ClientRead`s with their own `read_id` counter. A client sends to a
random node, preferring the one that answered it last; when no answer comes within its timeout
it sends the *same* request (same `seq` or `read_id`) to another random node, forever, so a
write is never abandoned and its `seq` stays unique. A reply for anything but the current request
is ignored. Every operation becomes one `Operation` of the history: `invoke` at its first send,
`complete` at its first reply (None if none came), `output` from the reply.
"""

from __future__ import annotations

from random import Random

from pyxos.check.history import Operation, OpKind
from pyxos.machines.kv import Cas, Delete, Get, KvOp, Put, decode_result, encode_op
from pyxos.node.client_messages import (
    ClientInbound,
    ClientOutbound,
    ClientRead,
    ClientReply,
    ClientRequest,
)

# Cumulative weights of get 40%, put 35%, cas 15%, delete 10%.
_KINDS: tuple[tuple[float, OpKind], ...] = (
    (0.40, "get"),
    (0.75, "put"),
    (0.90, "cas"),
    (1.00, "delete"),
)


class SimClient:
    """One client process; its address is also its `client_id` (never 0, never a node id)."""

    __slots__ = (
        "_expected",
        "_invoke_us",
        "_key",
        "_kind",
        "_known",
        "_rng",
        "_value",
        "address",
        "attempt",
        "history",
        "in_flight",
        "keys",
        "last_good",
        "nodes",
        "op_number",
        "ops_left",
        "read_id",
        "request",
        "seq",
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
        keys: tuple[str, ...],
        ops: int,
        timeout_us_min: int,
        timeout_us_max: int,
    ) -> None:
        if address <= 0 or address in nodes:
            raise ValueError(f"client address {address} must be positive and not a node id")
        self.address = address
        self._rng = rng
        self.nodes = nodes
        self.keys = keys
        self.ops_left = ops
        self.timeout_us_min = timeout_us_min
        self.timeout_us_max = timeout_us_max
        self.seq = 0
        self.read_id = 0
        self.op_number = 0
        self.attempt = 0
        self.in_flight = False
        self.request: ClientInbound | None = None
        self.target = nodes[0]
        self.last_good: int | None = None
        self.history: list[Operation] = []
        # What this client last saw in each key, used to aim its compare-and-sets.
        self._known: dict[str, str | None] = {}
        self._kind: OpKind = "get"
        self._key = ""
        self._value: str | None = None
        self._expected: str | None = None
        self._invoke_us = 0

    def timeout_us(self) -> int:
        low = self.timeout_us_min
        return low + int(self._rng.random() * (self.timeout_us_max - low + 1))

    def start(self, now_us: int) -> ClientInbound:
        """Begin the next operation; returns the request to send to `self.target`."""
        if self.in_flight or self.ops_left <= 0:
            raise RuntimeError(f"client {self.address} cannot start an operation now")
        rng = self._rng
        roll = rng.random()
        kind: OpKind = "delete"
        for bound, name in _KINDS:
            if roll < bound:
                kind = name
                break
        key = self.keys[int(rng.random() * len(self.keys))]
        self.ops_left -= 1
        self.op_number += 1
        self.attempt = 1
        self.in_flight = True
        self._kind, self._key, self._invoke_us = kind, key, now_us
        self._value = self._expected = None
        op: KvOp
        if kind == "get":
            self.read_id += 1
            self.request = ClientRead(
                client_id=self.address,
                read_id=self.read_id,
                query=encode_op(Get(key=key)),
                linearizable=True,
            )
        else:
            self.seq += 1
            if kind == "put":
                self._value = f"{self.address}.{self.seq}"
                op = Put(key=key, value=self._value.encode())
            elif kind == "cas":
                self._value = f"{self.address}.{self.seq}"
                # Mostly the value last seen (the cas may succeed), sometimes absent.
                self._expected = self._known.get(key) if rng.random() < 0.8 else None
                expected = None if self._expected is None else self._expected.encode()
                op = Cas(key=key, expected=expected, value=self._value.encode())
            else:
                op = Delete(key=key)
            self.request = ClientRequest(client_id=self.address, seq=self.seq, op=encode_op(op))
        if self.last_good is not None and rng.random() < 0.9:
            self.target = self.last_good
        else:
            self.target = self.nodes[int(rng.random() * len(self.nodes))]
        return self.request

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
        result = decode_result(message.result)
        output = None if result.value is None else result.value.decode()
        self._observe(output)
        self.history.append(
            Operation(
                client=self.address,
                kind=self._kind,
                key=self._key,
                value=self._value,
                expected=self._expected,
                invoke=self._invoke_us,
                complete=now_us,
                output=output,
            )
        )
        self.in_flight = False
        self.request = None
        self.last_good = sender
        return True

    def _observe(self, output: str | None) -> None:
        kind, key = self._kind, self._key
        if kind == "get":
            self._known[key] = output
        elif kind == "put":
            self._known[key] = self._value
        elif kind == "delete":
            self._known[key] = None
        else:
            self._known[key] = self._value if output == self._expected else output

    def pending(self) -> Operation | None:
        """The operation still in flight, as an unknown-outcome history entry."""
        if not self.in_flight:
            return None
        return Operation(
            client=self.address,
            kind=self._kind,
            key=self._key,
            value=self._value,
            expected=self._expected,
            invoke=self._invoke_us,
            complete=None,
        )

    @property
    def done(self) -> bool:
        """True when the client has nothing in flight and nothing left to issue."""
        return not self.in_flight and self.ops_left <= 0
