"""A map from string keys to bytes values, each with a version: optimistic concurrency.

A key's version starts at 1 when it is created and grows by one with every write; an absent key
has version 0. `MapUpdate` and a versioned `MapDelete` apply only if the key is still at the
version the client read, so a read-modify-write cycle loses no concurrent update. As in etcd's
per-key version, deleting a key resets it: a key deleted and created again starts at 1 again.
"""

from __future__ import annotations

from typing import assert_never

import msgspec

from pyxos.machines.base import ApplyContext
from pyxos.machines.codec import MachineCodec, SnapshotCodec
from pyxos.machines.display import show_bad, show_name, show_value

ERROR_BAD_COMMAND = "bad_command"
"""The bytes are not an encoded `MapOp`."""
ERROR_NOT_FOUND = "not_found"
"""`MapGet` or `MapDelete` of an absent key."""
ERROR_VERSION_CONFLICT = "version_conflict"
"""`MapUpdate` or `MapDelete` with a version that is not the key's current one."""
ERROR_NOT_A_QUERY = "not_a_query"
"""`query` got an operation that would write (anything but `MapGet`)."""


class _MapOp(msgspec.Struct, frozen=True, array_like=True, tag=True):
    pass


class MapPut(_MapOp, frozen=True, tag="mput"):
    """Set `key` to `value` whatever its version."""

    key: str
    value: bytes


class MapGet(_MapOp, frozen=True, tag="mget"):
    """Read `key` and its version. Through the log or as a query."""

    key: str


class MapUpdate(_MapOp, frozen=True, tag="mupdate"):
    """Set `key` to `value` if its version is `version` (0: create an absent key)."""

    key: str
    value: bytes
    version: int


class MapDelete(_MapOp, frozen=True, tag="mdel"):
    """Remove `key`; only at `version` when one is given."""

    key: str
    version: int | None


MapOp = MapPut | MapGet | MapUpdate | MapDelete


class MapResult(msgspec.Struct, frozen=True, array_like=True):
    """`value` and `version` are the key's after the operation (None and 0: absent), except
    for a `MapDelete`, which answers what it removed; on `version_conflict` they are the
    current ones, which the client may retry against."""

    ok: bool = True
    error: str | None = None
    key: str = ""
    value: bytes | None = None
    version: int = 0


class _Entry(msgspec.Struct, frozen=True, array_like=True):
    value: bytes
    version: int


class _Snapshot(msgspec.Struct, frozen=True, array_like=True, tag="map1"):
    entries: dict[str, _Entry]


_CODEC: MachineCodec[MapOp, MapResult] = MachineCodec(MapOp, MapResult)
_SNAPSHOT = SnapshotCodec(_Snapshot)
_OP_DECODER = _CODEC.op_decoder
_ENCODER = _CODEC.encoder
_BAD_COMMAND = _ENCODER.encode(MapResult(ok=False, error=ERROR_BAD_COMMAND))
_NOT_A_QUERY = _ENCODER.encode(MapResult(ok=False, error=ERROR_NOT_A_QUERY))

encode_op = _CODEC.encode_op
decode_op = _CODEC.decode_op
encode_result = _CODEC.encode_result
decode_result = _CODEC.decode_result


def describe_op(op: bytes) -> str:
    """`op` for a person (`pyxos.machines.display`): `put k='v'`, `get k`,
    `update k='v' version=3`, `del k [version=3]`; `bad {hex}` for other bytes."""
    try:
        decoded = _OP_DECODER.decode(op)
    except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
        return show_bad(op)
    match decoded:
        case MapPut(key=key, value=value):
            return f"put {show_name(key)}={show_value(value)}"
        case MapGet(key=key):
            return f"get {show_name(key)}"
        case MapUpdate(key=key, value=value, version=version):
            return f"update {show_name(key)}={show_value(value)} version={version}"
        case MapDelete(key=key, version=None):
            return f"del {show_name(key)}"
        case MapDelete(key=key, version=version):
            return f"del {show_name(key)} version={version}"
        case _:
            assert_never(decoded)


class VersionedMap:
    """The map; implements `pyxos.machines.base.StateMachine`."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        try:
            decoded = _OP_DECODER.decode(op)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_COMMAND
        return _ENCODER.encode(self._execute(decoded))

    def query(self, query: bytes) -> bytes:
        try:
            decoded = _OP_DECODER.decode(query)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_COMMAND
        if not isinstance(decoded, MapGet):
            return _NOT_A_QUERY
        return _ENCODER.encode(self._execute(decoded))

    def snapshot(self) -> bytes:
        return _SNAPSHOT.encode(_Snapshot(entries=self._entries))

    def restore(self, data: bytes) -> None:
        """Replace the state; raises `ValueError` on bad bytes and then changes nothing."""
        entries = _SNAPSHOT.decode(data).entries
        if any(entry.version < 1 for entry in entries.values()):
            raise ValueError("bad map snapshot: a version below 1")
        self._entries = dict(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def _execute(self, op: MapOp) -> MapResult:
        entries = self._entries
        match op:
            case MapPut(key=key, value=value):
                current = entries.get(key)
                version = 1 if current is None else current.version + 1
                entries[key] = _Entry(value=value, version=version)
                return MapResult(key=key, value=value, version=version)
            case MapGet(key=key):
                current = entries.get(key)
                if current is None:
                    return MapResult(ok=False, error=ERROR_NOT_FOUND, key=key)
                return MapResult(key=key, value=current.value, version=current.version)
            case MapUpdate(key=key, value=value, version=expected):
                current = entries.get(key)
                version = 0 if current is None else current.version
                if version != expected:
                    return _conflict(key, current)
                entries[key] = _Entry(value=value, version=version + 1)
                return MapResult(key=key, value=value, version=version + 1)
            case MapDelete(key=key, version=expected):
                current = entries.get(key)
                if current is None:
                    return MapResult(ok=False, error=ERROR_NOT_FOUND, key=key)
                if expected is not None and current.version != expected:
                    return _conflict(key, current)
                del entries[key]
                return MapResult(key=key, value=current.value, version=current.version)
            case _:
                assert_never(op)


def _conflict(key: str, current: _Entry | None) -> MapResult:
    if current is None:
        return MapResult(ok=False, error=ERROR_VERSION_CONFLICT, key=key)
    return MapResult(
        ok=False,
        error=ERROR_VERSION_CONFLICT,
        key=key,
        value=current.value,
        version=current.version,
    )
