"""A replicated key-value store: string keys, bytes values, compare-and-set, prefix listing.

Operations and results are msgspec Structs encoded as msgpack arrays whose first element is the
tag (`["put", key, value]`), decoded and encoded by module-level codecs built once: `apply`
runs for every command on every replica, so it must stay cheap.

Every write answers with the key's previous value, which lets a client (and the linearizability
checker) see exactly what it overwrote. A malformed command is still in the log forever, so
`apply` answers it with `KvResult(ok=False, error="bad_command")` instead of raising.

`Get` and `List` are the queries (`KvMachine.query`). A `List` answers a `KvList`, every other
operation a `KvResult`; a `List` that reaches `apply` (it has no business in the log, but the
log must never crash a replica) answers `KvResult(ok=False, error="query_only")`.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from types import MappingProxyType
from typing import assert_never

import msgspec

from pyxos.machines.base import ApplyContext
from pyxos.machines.codec import MachineCodec, SnapshotCodec
from pyxos.machines.display import show_bad, show_name, show_value

ERROR_BAD_COMMAND = "bad_command"
"""The bytes are not an encoded `KvOp`."""
ERROR_NOT_A_QUERY = "not_a_query"
"""`query` got an operation that would write."""
ERROR_QUERY_ONLY = "query_only"
"""`apply` got a `List`, which is only answered as a query."""

LIST_BYTES_MAX = 8 * 1024 * 1024
"""A `List` stops adding items once their keys and values reach this many bytes (and says it is
`truncated`): the answer is built on the node's only stepping thread, and must stay bounded
whatever `limit` asks for. The first matching item is always included."""


class _KvOp(msgspec.Struct, frozen=True, array_like=True, tag=True):
    # Subclasses inherit the config; they repeat `frozen=True` only because mypy's dataclass
    # transform does not inherit it.
    pass


class Get(_KvOp, frozen=True, tag="get"):
    """Read `key`. Allowed through the log (a linearizable read) and as a query."""

    key: str


class Put(_KvOp, frozen=True, tag="put"):
    """Set `key` to `value`."""

    key: str
    value: bytes


class Delete(_KvOp, frozen=True, tag="del"):
    """Remove `key`; removing an absent key succeeds."""

    key: str


class Cas(_KvOp, frozen=True, tag="cas"):
    """Set `key` to `value` if its current value is `expected` (`None`: the key is absent)."""

    key: str
    expected: bytes | None
    value: bytes


class Noop(_KvOp, frozen=True, tag="noop"):
    """Change nothing."""


class List(_KvOp, frozen=True, tag="list"):
    """The keys starting with `prefix` and greater than `after`, in sorted order, at most
    `limit` of them, with their values. A query only; `limit` below 0 is a bad command.

    `after` is the cursor: pass the last key of a truncated answer to get the next page (""
    starts at the first key). It is a trailing field with a default so that the three-element
    form `["list", prefix, limit]` still decodes (as `after=""`)."""

    prefix: str
    limit: int
    after: str = ""


KvOp = Get | Put | Delete | Cas | Noop | List


class KvResult(msgspec.Struct, frozen=True, array_like=True):
    """The answer to one operation.

    `ok` is False when a `Cas` did not match or the command was bad (then `error` holds a
    stable code). `value` is the current value for `Get` and the previous value for `Put`,
    `Delete` and `Cas`, matched or not; `None` means the key was absent.
    """

    ok: bool = True
    value: bytes | None = None
    error: str | None = None


class KvList(msgspec.Struct, frozen=True, array_like=True, tag="kvlist"):
    """The answer to a `List`: `(key, value)` pairs in key order, and whether more keys with
    that prefix (after the cursor) exist than are listed (over `limit`, or over
    `LIST_BYTES_MAX`).

    Tagged, so that a `KvResult` (an error answer) is never mistaken for an empty list.
    """

    items: tuple[tuple[str, bytes], ...] = ()
    truncated: bool = False

    @property
    def next(self) -> str | None:
        """The cursor of the next page: the last key listed when `truncated`, else None (also
        None for a truncated answer that lists nothing, which only `limit=0` gives)."""
        if self.truncated and self.items:
            return self.items[-1][0]
        return None


class _Snapshot(msgspec.Struct, frozen=True, array_like=True, tag="kv1"):
    # The tag names the format, so a snapshot of another machine (or version) is refused.
    data: dict[str, bytes]


_CODEC: MachineCodec[KvOp, KvResult] = MachineCodec(KvOp, KvResult)
_SNAPSHOT = SnapshotCodec(_Snapshot)
_OP_DECODER = _CODEC.op_decoder
_ENCODER = _CODEC.encoder
_LIST_DECODER = msgspec.msgpack.Decoder(KvList)


def object_of(op: bytes) -> bytes:
    """The key a command reads or writes (UTF-8), or `b""` for one that touches none (a
    `Noop`, a `List`, bytes that are no command): every key is an object of its own."""
    try:
        decoded = _OP_DECODER.decode(op)
    except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
        return b""
    key = getattr(decoded, "key", None)
    return key.encode() if isinstance(key, str) else b""


_BAD_COMMAND = _ENCODER.encode(KvResult(ok=False, error=ERROR_BAD_COMMAND))
_NOT_A_QUERY = _ENCODER.encode(KvResult(ok=False, error=ERROR_NOT_A_QUERY))
_QUERY_ONLY = _ENCODER.encode(KvResult(ok=False, error=ERROR_QUERY_ONLY))

encode_op = _CODEC.encode_op
decode_op = _CODEC.decode_op
encode_result = _CODEC.encode_result
decode_result = _CODEC.decode_result


def encode_list(answer: KvList) -> bytes:
    return _ENCODER.encode(answer)


def decode_list(data: bytes) -> KvList:
    """Decode the answer to a `List`; raises `ValueError` (a `msgspec.DecodeError`) on bad bytes,
    including an encoded `KvResult` (the error answer to a bad `List`)."""
    return _LIST_DECODER.decode(data)


def describe_op(op: bytes) -> str:
    """`op` for a person (`pyxos.machines.display`): `put k='v'`, `del k`, `cas k None->'v'`,
    `get k`, `noop`, `list 'p' 10 [after 'k']`; `bad {hex}` for other bytes."""
    try:
        decoded = _OP_DECODER.decode(op)
    except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
        return show_bad(op)
    match decoded:
        case Put(key=key, value=value):
            return f"put {show_name(key)}={show_value(value)}"
        case Delete(key=key):
            return f"del {show_name(key)}"
        case Cas(key=key, expected=expected, value=value):
            return f"cas {show_name(key)} {show_value(expected)}->{show_value(value)}"
        case Get(key=key):
            return f"get {show_name(key)}"
        case Noop():
            return "noop"
        case List(prefix=prefix, limit=limit, after=""):
            return f"list {prefix!r} {limit}"
        case List(prefix=prefix, limit=limit, after=after):
            return f"list {prefix!r} {limit} after {after!r}"
        case _:
            assert_never(decoded)


class KvMachine:
    """The store itself; implements `pyxos.machines.base.StateMachine`."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def object_of(self, op: bytes) -> bytes:
        """Each key is an object (`pyxos.machines.base.Keyed`)."""
        return object_of(op)

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        try:
            decoded = _OP_DECODER.decode(op)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_COMMAND
        if isinstance(decoded, List):
            return _QUERY_ONLY
        return _ENCODER.encode(self._execute(decoded))

    def query(self, query: bytes) -> bytes:
        try:
            decoded = _OP_DECODER.decode(query)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_COMMAND
        if isinstance(decoded, Get):
            return _ENCODER.encode(KvResult(value=self._data.get(decoded.key)))
        if isinstance(decoded, List):
            if decoded.limit < 0:
                return _BAD_COMMAND
            return _ENCODER.encode(self._list(decoded.prefix, decoded.limit, decoded.after))
        return _NOT_A_QUERY

    def snapshot(self) -> bytes:
        return _SNAPSHOT.encode(_Snapshot(data=self._data))

    def restore(self, data: bytes) -> None:
        """Replace the state; raises `ValueError` on bad bytes and then changes nothing."""
        self._data = dict(_SNAPSHOT.decode(data).data)

    def __len__(self) -> int:
        return len(self._data)

    @property
    def data(self) -> Mapping[str, bytes]:
        """A read-only live view of the store, for tests and debugging."""
        return MappingProxyType(self._data)

    def _list(self, prefix: str, limit: int, after: str) -> KvList:
        data = self._data
        # No sorted index yet: one pass over the keys, then a heap for the `limit + 1` smallest
        # (the extra one tells whether the answer is truncated), O(n log limit).
        matching = (key for key in data if key.startswith(prefix) and key > after)
        smallest = heapq.nsmallest(limit + 1, matching)
        items: list[tuple[str, bytes]] = []
        size = 0
        for key in smallest[:limit]:
            value = data[key]
            size += len(key.encode()) + len(value)
            if items and size > LIST_BYTES_MAX:
                return KvList(items=tuple(items), truncated=True)
            items.append((key, value))
        return KvList(items=tuple(items), truncated=len(smallest) > limit)

    def _execute(self, op: KvOp) -> KvResult:
        data = self._data
        match op:
            case Get(key=key):
                return KvResult(value=data.get(key))
            case Put(key=key, value=value):
                previous = data.get(key)
                data[key] = value
                return KvResult(value=previous)
            case Delete(key=key):
                return KvResult(value=data.pop(key, None))
            case Cas(key=key, expected=expected, value=value):
                previous = data.get(key)
                if previous != expected:
                    return KvResult(ok=False, value=previous)
                data[key] = value
                return KvResult(value=previous)
            case Noop():
                return KvResult()
            case List():
                # `apply` answers a List before it gets here; a query is never executed.
                return KvResult(ok=False, error=ERROR_QUERY_ONLY)
            case _:
                assert_never(op)
