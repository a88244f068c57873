"""Checking what a request carries, before anything is proposed.

Every check here raises `ApiError` and runs before the node sees the request, so a bad input
never changes what is stored. The limits: a key is 1..1024 bytes of UTF-8, a value at most
1 MiB (after base64 decoding), a JSON body at most `BODY_BYTES_MAX` (room for a compare-and-set
carrying two base64-encoded 1 MiB values).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal, TypeVar
from urllib.parse import unquote_to_bytes

import msgspec
from aiohttp import web

from pyxos.service.errors import ApiError

KEY_BYTES_MAX = 1024
VALUE_BYTES_MAX = 1024 * 1024
BODY_BYTES_MAX = 3 * 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024

Encoding = Literal["utf-8", "base64"]
T = TypeVar("T")


def check_key(key: str, *, code_if_bad: str = "bad_request") -> str:
    """`key` if it is 1..`KEY_BYTES_MAX` bytes of UTF-8; else `ApiError`.

    `code_if_bad` is the code for an empty or non-UTF-8 key: `bad_request` for a key in the
    path, `invalid_body` for one in a JSON body.
    """
    try:
        size = len(key.encode())
    except UnicodeEncodeError:  # lone surrogates, from a percent-encoded path
        raise ApiError(code_if_bad, "the key is not valid UTF-8") from None
    if size == 0:
        raise ApiError(code_if_bad, "the key is empty")
    if size > KEY_BYTES_MAX:
        raise ApiError("too_large", f"key of {size} bytes; the limit is {KEY_BYTES_MAX}")
    return key


def path_key(request: web.Request) -> str:
    """The `{key}` at the end of the route's path, checked like `check_key`.

    A percent-escape that is not UTF-8 is left undecoded by aiohttp (`%ED%A0%80` would become a
    key of nine characters); a key must be exactly what the client sent, so an escaped key is
    decoded again from the raw path, strictly.
    """
    key = request.match_info["key"]
    resource = request.match_info.route.resource
    raw = request.rel_url.raw_path
    prefix = "" if resource is None else resource.canonical.removesuffix("{key}")
    if "%" in raw and prefix and raw.startswith(prefix):
        raw_key = raw[len(prefix) :]
        try:
            key = unquote_to_bytes(raw_key).decode()
        except UnicodeDecodeError:
            raise ApiError("bad_request", "the key is not valid UTF-8") from None
    return check_key(key)


def check_value(value: bytes) -> bytes:
    if len(value) > VALUE_BYTES_MAX:
        raise ApiError("too_large", f"value of {len(value)} bytes; the limit is {VALUE_BYTES_MAX}")
    return value


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refused with `too_large` as soon as it passes `limit` bytes (with or
    without a Content-Length)."""
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError("too_large", f"body of {length} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise ApiError("too_large", f"body over {limit} bytes; the limit is {limit}")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, kind: type[T]) -> T:
    """Read the body and decode it as JSON into the msgspec Struct `kind`."""
    body = await read_body(request, BODY_BYTES_MAX)
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:  # JSON, but not the shape `kind` wants
        raise ApiError("invalid_body", str(exc)) from None
    except (ValueError, RecursionError) as exc:  # DecodeError; UnicodeDecodeError too
        raise ApiError("malformed_json", f"the body is not JSON: {exc}") from None


def decode_value(text: str, encoding: Encoding, field: str) -> bytes:
    """The bytes a JSON string field carries: UTF-8 text, or strict base64."""
    if encoding == "base64":
        try:
            value = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError("invalid_body", f"`{field}` is not valid base64") from None
    else:
        try:
            value = text.encode()
        except UnicodeEncodeError:
            raise ApiError("invalid_body", f"`{field}` is not valid UTF-8") from None
    return check_value(value)


def value_fields(name: str, encoding_field: str, value: bytes | None) -> dict[str, Any]:
    """`{name: text}` for a UTF-8 value, `{name: base64, encoding_field: "base64"}` otherwise;
    `{name: None}` for an absent one."""
    if value is None:
        return {name: None}
    try:
        return {name: value.decode()}
    except UnicodeDecodeError:
        return {name: base64.b64encode(value).decode(), encoding_field: "base64"}


def linearizable(request: web.Request) -> bool:
    """`?consistency=linearizable` (the default) or `stale`."""
    consistency = request.query.get("consistency", "linearizable")
    if consistency not in ("linearizable", "stale"):
        raise ApiError(
            "bad_request", f"consistency must be linearizable or stale, not {consistency!r}"
        )
    return consistency == "linearizable"


def query_int(request: web.Request, name: str, *, default: int, low: int, high: int) -> int:
    """The integer query parameter `name`, `default` when absent, within `low..high`."""
    text = request.query.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise ApiError("bad_request", f"{name} must be an integer, not {text!r}")
    number = int(text)
    if not low <= number <= high:
        raise ApiError("bad_request", f"{name} must be between {low} and {high}, not {number}")
    return number
