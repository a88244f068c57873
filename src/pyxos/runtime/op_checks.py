"""What the fast client protocol server lets through to the log, for every built-in machine.

A command the machine cannot decode would stay in the log forever (answered `bad_command`),
so `service_op_error` refuses it at the door with the same limits as the HTTP API: names,
keys and owners of 1..1 KiB, values of at most 1 MiB, queries (`read`) only where the machine
answers them, and `wait` only for a lock request that may queue. Unaddressed operations are
the key-value store's (`kv_op_error`); the others come in a router envelope
(`pyxos.machines.router.route`).
"""

from __future__ import annotations

import msgspec

from pyxos.machines import ask, locks, queue, vmap
from pyxos.machines.catalog import ASK, LOCKS, MAP, QUEUE
from pyxos.machines.kv import Cas, Delete, Get, List, Put
from pyxos.machines.kv import decode_op as decode_kv_op
from pyxos.machines.router import Routed
from pyxos.wire.client import BAD_REQUEST, KEY_BYTES_MAX, TOO_LARGE, VALUE_BYTES_MAX, RequestKind

Refusal = tuple[str, str] | None
"""`(error code, message)`, or None if the operation may run."""

_ROUTED = msgspec.msgpack.Decoder(Routed)


def service_op_error(kind: RequestKind, op: bytes) -> Refusal:
    """Why the operation `op` of a request of `kind` is refused, or None."""
    try:
        routed = _ROUTED.decode(op)
    except ValueError:
        if kind == "wait":
            return BAD_REQUEST, "a wait must carry a lock request (routed to 'locks')"
        return kv_op_error(kind, op)
    try:
        if routed.machine == LOCKS:
            return _lock_error(kind, locks.decode_op(routed.op))
        if kind == "wait":
            return BAD_REQUEST, "a wait must carry a lock request (routed to 'locks')"
        if routed.machine == ASK:
            return _ask_error(kind, ask.decode_op(routed.op))
        if routed.machine == QUEUE:
            return _queue_error(kind, queue.decode_op(routed.op))
        if routed.machine == MAP:
            return _map_error(kind, vmap.decode_op(routed.op))
    except ValueError as exc:
        return BAD_REQUEST, f"the operation is not a {routed.machine} operation: {exc}"
    return BAD_REQUEST, f"no machine named {routed.machine!r}"


def kv_op_error(kind: RequestKind, op: bytes) -> Refusal:
    """The key-value service's check of an operation, the same limits as the HTTP API's: a
    key (and a list's prefix and cursor) of at most 1 KiB, values of at most 1 MiB, `get` and
    `list` as reads only. A command the machine cannot decode would stay in the log forever
    (answered `bad_command`), so it is refused here, before it gets there."""
    try:
        decoded = decode_kv_op(op)
    except ValueError as exc:
        return BAD_REQUEST, f"the operation is not a key-value operation: {exc}"
    if kind == "read" and not isinstance(decoded, Get | List):
        return BAD_REQUEST, f"a read must be a get or a list, not {type(decoded).__name__}"
    if kind == "write" and isinstance(decoded, List):
        return BAD_REQUEST, "a list is a read, not a write"
    key: str = decoded.prefix if isinstance(decoded, List) else getattr(decoded, "key", "")
    size = len(key.encode())
    if size > KEY_BYTES_MAX:
        return TOO_LARGE, f"key of {size} bytes; the limit is {KEY_BYTES_MAX}"
    if isinstance(decoded, List) and len(decoded.after.encode()) > KEY_BYTES_MAX:
        return TOO_LARGE, f"a list cursor over {KEY_BYTES_MAX} bytes is no key"
    values: tuple[bytes | None, ...] = ()
    if isinstance(decoded, Put):
        values = (decoded.value,)
    elif isinstance(decoded, Cas):
        values = (decoded.expected, decoded.value)
    for value in values:
        if value is not None and len(value) > VALUE_BYTES_MAX:
            return TOO_LARGE, f"value of {len(value)} bytes; the limit is {VALUE_BYTES_MAX}"
    return None


def _name_error(what: str, name: str) -> Refusal:
    size = len(name.encode())
    if size == 0:
        return BAD_REQUEST, f"the {what} is empty"
    if size > KEY_BYTES_MAX:
        return TOO_LARGE, f"{what} of {size} bytes; the limit is {KEY_BYTES_MAX}"
    return None


def _value_error(value: bytes | None) -> Refusal:
    if value is not None and len(value) > VALUE_BYTES_MAX:
        return TOO_LARGE, f"value of {len(value)} bytes; the limit is {VALUE_BYTES_MAX}"
    return None


def _first(*refusals: Refusal) -> Refusal:
    return next((r for r in refusals if r is not None), None)


def _lock_error(kind: RequestKind, op: locks.LockOp) -> Refusal:
    if kind == "read" and not isinstance(op, locks.Whose):
        return BAD_REQUEST, f"a read of a lock must be a whose, not {type(op).__name__}"
    if kind == "wait" and not (isinstance(op, locks.Acquire) and op.wait):
        return BAD_REQUEST, "a wait must carry an acquire with wait=True"
    refusal = _name_error("lock name", op.lock)
    if refusal is None and not isinstance(op, locks.Whose | locks.Guarded):
        refusal = _name_error("owner", op.owner)
    if refusal is None and isinstance(op, locks.Guarded):
        try:
            inner = decode_kv_op(op.op)
        except ValueError as exc:
            return BAD_REQUEST, f"a guarded write carries no key-value operation: {exc}"
        if not isinstance(inner, Put | Delete | Cas):
            return BAD_REQUEST, f"a guarded write is a put, del or cas, not {type(inner).__name__}"
        values: tuple[bytes | None, ...] = (inner.value,) if isinstance(inner, Put) else ()
        if isinstance(inner, Cas):
            values = (inner.expected, inner.value)
        refusal = _first(_name_error("key", inner.key), *map(_value_error, values))
    return refusal


def _ask_error(kind: RequestKind, op: ask.Ask) -> Refusal:
    if kind == "read" and op.value is not None:
        return BAD_REQUEST, "a read of a key's decided value carries no value"
    return _first(_name_error("key", op.key), _value_error(op.value))


def _queue_error(kind: RequestKind, op: queue.QueueOp) -> Refusal:
    if kind == "read" and not isinstance(op, queue.Peek):
        return BAD_REQUEST, f"a read of a queue must be a peek, not {type(op).__name__}"
    item = op.item if isinstance(op, queue.Push) else None
    return _first(_name_error("queue name", op.queue), _value_error(item))


def _map_error(kind: RequestKind, op: vmap.MapOp) -> Refusal:
    if kind == "read" and not isinstance(op, vmap.MapGet):
        return BAD_REQUEST, f"a read of the map must be a get, not {type(op).__name__}"
    value = op.value if isinstance(op, vmap.MapPut | vmap.MapUpdate) else None
    return _first(_name_error("key", op.key), _value_error(value))
