"""What the services may run under the cluster's protocol: the one place that refuses.

With a protocol that orders each object on its own (`ExecutionOrder.PER_OBJECT`: WPaxos, where
an object is a key, and locks, queues, the map, ask and the clock share the object `@`), a
command is ordered only against the commands of its own object. Two kinds of request need
more than that, and are refused here, before anything reaches the log:

- a **fenced write** (`?lock=&token=`, `put_fenced`): the lock machine checks the token in
  object `@` and writes the key, which is another object. The write would be ordered against
  the lock but not against the key's other writes, so two replicas could apply it in different
  orders with the key's plain writes and disagree on its value;
- a **linearizable listing** (`GET /v1/kv?prefix=`, `list`): no single order of the keys'
  logs exists, so no point in it reflects every write acknowledged before it. The stale form
  (`consistency=stale`) is served: one node's state, as for any stale read.

Everything else runs: a key's reads and writes (and compare-and-set) are one object's, and
the coordination machines keep one order in `@`, with log time of their own there (leases
expire with it). The refusal is `pyxos.errors.UnsupportedByProtocol`: HTTP 409
`unsupported_by_protocol`, the same code on the fast client protocol, and the clients raise the
same class.
"""

from __future__ import annotations

from pyxos.core.protocol import ExecutionOrder, ProtocolSpec
from pyxos.errors import UnsupportedByProtocol
from pyxos.machines import locks
from pyxos.machines.catalog import LOCKS
from pyxos.machines.kv import List
from pyxos.machines.kv import decode_op as decode_kv_op
from pyxos.machines.router import unroute

FIX = 'run the cluster with protocol = "multipaxos" (one log, one order for every key)'


class ProtocolSupport:
    """The checks for one protocol; for a protocol with one log (`TOTAL`) they cost nothing."""

    __slots__ = ("_name", "per_object")

    def __init__(self, spec: ProtocolSpec) -> None:
        self._name = spec.name
        self.per_object = spec.order is ExecutionOrder.PER_OBJECT

    def check_write(self, op: bytes) -> None:
        """Raise `UnsupportedByProtocol` if the command `op` cannot run under this protocol."""
        if self.per_object and _is_fenced(op):
            raise self._refuse(
                "a fenced write checks a lock's token in the object of the locks ('@') and "
                "writes a key, another object: no single order holds the token and the key's "
                "other writes, so it is refused (nothing was written)"
            )

    def check_read(self, query: bytes, *, linearizable: bool) -> None:
        """Raise `UnsupportedByProtocol` if the read `query` cannot be served as asked."""
        if self.per_object and linearizable and _is_listing(query):
            raise self._refuse(
                "a linearizable listing spans many keys, each its own object with its own "
                "order: no point in time holds them all. List with consistency=stale (one "
                "node's state, which may be behind), or read each key"
            )

    def _refuse(self, why: str) -> UnsupportedByProtocol:
        return UnsupportedByProtocol(f"protocol {self._name}: {why}; or {FIX}", protocol=self._name)


def _is_fenced(op: bytes) -> bool:
    try:
        routed = unroute(op)
        if routed is None or routed[0] != LOCKS:
            return False
        return isinstance(locks.decode_op(routed[1]), locks.Guarded)
    except ValueError:
        return False  # not ours to judge: the op checks refuse bad bytes


def _is_listing(query: bytes) -> bool:
    try:
        return unroute(query) is None and isinstance(decode_kv_op(query), List)
    except ValueError:
        return False
