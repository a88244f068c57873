"""A replicated key-value store: string keys, bytes values, compare-and-set.

Operations and results are msgspec Structs encoded as msgpack arrays whose first element is the
tag (`["put", key, value]`), decoded and encoded by module-level codecs built once: `apply`
runs for every command on every replica, so it must stay cheap.

Every write answers with the key's previous value, which lets a client (and the linearizability
checker) see exactly what it overwrote. A malformed command is still in the log forever, so
`apply` answers it with `KvResult(ok=False, error="bad_command")` instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import assert_never

import msgspec

ERROR_BAD_COMMAND = "bad_command"
"""The bytes are not an encoded `KvOp`."""
ERROR_NOT_A_QUERY = "not_a_query"
"""`query` got an operation that would write."""


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


KvOp = Get | Put | Delete | Cas | Noop


class KvResult(msgspec.Struct, frozen=True, array_like=True):
    """The answer to one operation.

    `ok` is False when a `Cas` did not match or the command was bad (then `error` holds a
    stable code). `value` is the current value for `Get` and the previous value for `Put`,
    `Delete` and `Cas`, matched or not; `None` means the key was absent.
    """

    ok: bool = True
    value: bytes | None = None
    error: str | None = None


class _Snapshot(msgspec.Struct, frozen=True, array_like=True, tag="kv1"):
    # The tag names the format, so a snapshot of another machine (or version) is refused.
    data: dict[str, bytes]


_OP_DECODER: msgspec.msgpack.Decoder[KvOp] = msgspec.msgpack.Decoder(KvOp)
_RESULT_DECODER = msgspec.msgpack.Decoder(KvResult)
_SNAPSHOT_DECODER = msgspec.msgpack.Decoder(_Snapshot)
_ENCODER = msgspec.msgpack.Encoder()
# Sorted keys make the snapshot a function of the state alone, not of the insertion order.
_SNAPSHOT_ENCODER = msgspec.msgpack.Encoder(order="sorted")
_BAD_COMMAND = _ENCODER.encode(KvResult(ok=False, error=ERROR_BAD_COMMAND))
_NOT_A_QUERY = _ENCODER.encode(KvResult(ok=False, error=ERROR_NOT_A_QUERY))


def encode_op(op: KvOp) -> bytes:
    return _ENCODER.encode(op)


def decode_op(data: bytes) -> KvOp:
    """Decode an operation; raises `ValueError` (a `msgspec.DecodeError`) on bad bytes."""
    return _OP_DECODER.decode(data)


def encode_result(result: KvResult) -> bytes:
    return _ENCODER.encode(result)


def decode_result(data: bytes) -> KvResult:
    """Decode a result; raises `ValueError` (a `msgspec.DecodeError`) on bad bytes."""
    return _RESULT_DECODER.decode(data)


class KvMachine:
    """The store itself; implements `pyxos.machines.base.StateMachine`."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def apply(self, op: bytes) -> bytes:
        try:
            decoded = _OP_DECODER.decode(op)
        except msgspec.DecodeError:
            return _BAD_COMMAND
        return _ENCODER.encode(self._execute(decoded))

    def query(self, query: bytes) -> bytes:
        try:
            decoded = _OP_DECODER.decode(query)
        except msgspec.DecodeError:
            return _BAD_COMMAND
        if not isinstance(decoded, Get):
            return _NOT_A_QUERY
        return _ENCODER.encode(KvResult(value=self._data.get(decoded.key)))

    def snapshot(self) -> bytes:
        return _SNAPSHOT_ENCODER.encode(_Snapshot(data=self._data))

    def restore(self, data: bytes) -> None:
        """Replace the state; raises `ValueError` on bad bytes and then changes nothing."""
        self._data = dict(_SNAPSHOT_DECODER.decode(data).data)

    def __len__(self) -> int:
        return len(self._data)

    @property
    def data(self) -> Mapping[str, bytes]:
        """A read-only live view of the store, for tests and debugging."""
        return MappingProxyType(self._data)

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
            case _:
                assert_never(op)
