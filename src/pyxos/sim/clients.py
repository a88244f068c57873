"""Simulated KV clients: closed-loop sessions (`pyxos.sim.closed_loop`) on the key-value store.

Writes (`put`, `delete`, `cas`) are `ClientRequest`s numbered `seq` 1, 2, 3, ... (the node's
session table applies each once); reads are linearizable `ClientRead`s with their own `read_id`
counter. Every operation becomes one `Operation` of the history, its `output` from the reply.
"""

from __future__ import annotations

from random import Random

from pyxos.check.history import Operation, OpKind
from pyxos.machines.kv import Cas, Delete, Get, KvOp, Put, decode_result, encode_op
from pyxos.node.client_messages import ClientInbound, ClientRead, ClientRequest
from pyxos.sim.closed_loop import ClosedLoopClient

# Cumulative weights of get 40%, put 35%, cas 15%, delete 10%.
_KINDS: tuple[tuple[float, OpKind], ...] = (
    (0.40, "get"),
    (0.75, "put"),
    (0.90, "cas"),
    (1.00, "delete"),
)


class SimClient(ClosedLoopClient[Operation, str | None]):
    """One KV client process; its address is also its `client_id` (never 0, never a node id)."""

    __slots__ = ("_expected", "_key", "_kind", "_known", "_value", "keys", "read_id", "seq")

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
        super().__init__(
            address,
            rng,
            nodes=nodes,
            ops=ops,
            timeout_us_min=timeout_us_min,
            timeout_us_max=timeout_us_max,
        )
        self.keys = keys
        self.seq = 0
        self.read_id = 0
        # What this client last saw in each key, used to aim its compare-and-sets.
        self._known: dict[str, str | None] = {}
        self._kind: OpKind = "get"
        self._key = ""
        self._value: str | None = None
        self._expected: str | None = None

    def _next_request(self) -> ClientInbound:
        rng = self._rng
        roll = rng.random()
        kind: OpKind = "delete"
        for bound, name in _KINDS:
            if roll < bound:
                kind = name
                break
        key = self.keys[int(rng.random() * len(self.keys))]
        self._kind, self._key = kind, key
        self._value = self._expected = None
        if kind == "get":
            self.read_id += 1
            return ClientRead(
                client_id=self.address,
                read_id=self.read_id,
                query=encode_op(Get(key=key)),
                linearizable=True,
            )
        self.seq += 1
        op: KvOp
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
        return ClientRequest(client_id=self.address, seq=self.seq, op=encode_op(op))

    def _read(self, result: bytes) -> str | None:
        value = decode_result(result).value
        output = None if value is None else value.decode()
        self._observe(output)
        return output

    def _entry(self, *, complete: int | None, output: str | None) -> Operation:
        return Operation(
            client=self.address,
            kind=self._kind,
            key=self._key,
            value=self._value,
            expected=self._expected,
            invoke=self._invoke_us,
            complete=complete,
            output=output,
        )

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
