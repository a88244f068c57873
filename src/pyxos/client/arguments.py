"""Checking a client's arguments before they reach the wire, and decoding the answers.

A bad key or value is refused here with the same limits and error types as the node's own
checks, so a mistake costs no round trip and never reaches the log.
"""

from __future__ import annotations

from pyxos.client.errors import BadRequest, PyxosError, TooLarge
from pyxos.machines.kv import KvResult, decode_result
from pyxos.wire.client import KEY_BYTES_MAX, VALUE_BYTES_MAX

Value = bytes | bytearray | memoryview | str
"""What a value may be given as; text is encoded as UTF-8."""


def check_key(key: str | bytes, *, empty_ok: bool = False) -> str:
    if isinstance(key, bytes):
        try:
            key = key.decode()
        except UnicodeDecodeError:
            raise BadRequest("a key must be UTF-8 text") from None
    if not isinstance(key, str):
        raise TypeError(f"a key is str or bytes, not {type(key).__name__}")
    try:
        size = len(key.encode())
    except UnicodeEncodeError:
        raise BadRequest("a key must be UTF-8 text") from None
    if not size and not empty_ok:
        raise BadRequest("the key is empty")
    if size > KEY_BYTES_MAX:
        raise TooLarge(f"key of {size} bytes; the limit is {KEY_BYTES_MAX}")
    return key


def check_value(value: Value) -> bytes:
    if isinstance(value, str):
        data = value.encode()
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    else:
        raise TypeError(f"a value is bytes or str, not {type(value).__name__}")
    if len(data) > VALUE_BYTES_MAX:
        raise TooLarge(f"value of {len(data)} bytes; the limit is {VALUE_BYTES_MAX}")
    return data


def decode_answer(answer: bytes) -> KvResult:
    try:
        result = decode_result(answer)
    except ValueError:
        raise PyxosError("the node's answer does not decode") from None
    if result.error is not None:
        # Only a bug makes a command the state machine refuses: the client checked it.
        raise PyxosError(f"the state machine refused the command: {result.error}")
    return result
