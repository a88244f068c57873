"""A command whose string field is not UTF-8 is a bad command, never an exception: it is in the
log forever, and a raise would stop every replica that applies it (msgspec reports bad UTF-8 as
`UnicodeDecodeError`, which is not a `msgspec.DecodeError`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pytest

from pyxos.machines import ask, kv, locks, queue, vmap
from pyxos.machines.base import ApplyContext, StateMachine
from pyxos.machines.catalog import build_machines

CTX = ApplyContext(slot=1, time_ms=0)


class _Answer(Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def error(self) -> str | None: ...


BAD = b"\xa1\x80"  # a one-byte msgpack string whose byte is not UTF-8


def _op(tag: bytes, *fields: bytes) -> bytes:
    """A msgpack array: the tag, then `fields` (already encoded)."""
    return bytes([0x90 + 1 + len(fields)]) + bytes([0xA0 + len(tag)]) + tag + b"".join(fields)


CASES: list[tuple[str, Callable[[], StateMachine], bytes, Callable[[bytes], _Answer]]] = [
    ("kv", kv.KvMachine, _op(b"get", BAD), kv.decode_result),
    ("locks", locks.LockMachine, _op(b"whose", BAD), locks.decode_result),
    ("queue", queue.QueueMachine, _op(b"peek", BAD), queue.decode_result),
    ("map", vmap.VersionedMap, _op(b"mget", BAD), vmap.decode_result),
    ("ask", ask.AskMachine, _op(b"ask", BAD, b"\xc0"), ask.decode_result),
]


@pytest.mark.parametrize(("name", "factory", "op", "decode"), CASES, ids=[c[0] for c in CASES])
def test_bad_utf8_is_a_bad_command_in_apply_and_query(
    name: str, factory: Callable[[], StateMachine], op: bytes, decode: Callable[[bytes], _Answer]
) -> None:
    machine = factory()
    for answer in (machine.apply(op, CTX), machine.query(op)):
        result = decode(answer)
        assert (result.ok, result.error) == (False, "bad_command")


def test_a_routed_command_with_a_bad_machine_name_is_answered() -> None:
    router = build_machines()
    op = b"\x93\xa1@" + BAD + b"\xc4\x00"
    assert b"bad_envelope" in router.apply(op, CTX)
    assert b"bad_envelope" in router.query(op)
