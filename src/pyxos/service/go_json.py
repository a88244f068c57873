"""JSON bodies decoded the way the seeds' Go servers decoded them: field names without regard
to case.

Go's encoding/json matches an object's keys to a struct's fields case-insensitively, so the
seeds' clients were never consistent about case: GoPaxos' own benchmark posts
`{"Key": ..., "Value": ...}` to a server whose fields are `key` and `value`, and Paxi's `Command`
is read the same way. `read_go_json` accepts every spelling of a field name, as those servers
did; it stays stricter than Go where leniency would hide a mistake: a field that matches no name
is refused (Go dropped it silently, so a typo stored an empty value), and so is a field given
twice under two spellings (Go kept the last one).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from aiohttp import web

from pyxos.service.errors import ApiError
from pyxos.service.inputs import BODY_BYTES_MAX, read_body

T = TypeVar("T")


def fold_names(fields: dict[str, Any], kind: type[Any]) -> dict[str, Any]:
    """`fields` with each key replaced by the name of the `kind` Struct field it matches
    without regard to case; a key that matches none is kept as it is (the Struct refuses it).
    Raises `ApiError("invalid_body")` when two keys name the same field."""
    names = {f.encode_name.casefold(): f.encode_name for f in msgspec.structs.fields(kind)}
    folded: dict[str, Any] = {}
    for key, value in fields.items():
        name = key if key in names.values() else names.get(key.casefold(), key)
        if name in folded:
            raise ApiError("invalid_body", f"`{name}` is given twice (as {key!r} too)")
        folded[name] = value
    return folded


async def read_go_json(request: web.Request, kind: type[T]) -> T:
    """Read the body, a JSON object, into the msgspec Struct `kind`, matching field names
    without regard to case. Raises `ApiError` (`malformed_json`, `invalid_body`, `too_large`)."""
    body = await read_body(request, BODY_BYTES_MAX)
    try:
        fields = msgspec.json.decode(body)
    except (ValueError, RecursionError) as exc:  # DecodeError; UnicodeDecodeError too
        raise ApiError("malformed_json", f"the body is not JSON: {exc}") from None
    if not isinstance(fields, dict):
        raise ApiError("invalid_body", f"the body must be a JSON object, not {_kind(fields)}")
    try:
        return msgspec.convert(fold_names(fields, kind), kind)
    except msgspec.ValidationError as exc:  # JSON, but not the shape `kind` wants
        raise ApiError("invalid_body", str(exc)) from None


_JSON_TYPES = {list: "an array", str: "a string", bool: "a boolean", int: "a number"}


def _kind(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "a number" if isinstance(value, float) else "null")
