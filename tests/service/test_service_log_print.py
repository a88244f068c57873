"""`render_slot`: the exact line format that `pyxos log dump` and `pyxos check logs` compare
across nodes."""

from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from pyxos.core.commands import Command
from pyxos.machines.kv import Cas, Delete, Get, KvOp, List, Noop, Put, encode_op
from pyxos.service.log_print import render_lines, render_slot, render_value

SETTINGS = settings(derandomize=True, database=None, deadline=None)


def _command(op: KvOp | bytes, client_id: int = 9, seq: int = 4) -> Command:
    data = op if isinstance(op, bytes) else encode_op(op)
    return Command(client_id=client_id, seq=seq, op=data)


def test_gaps_and_empty_batches() -> None:
    assert render_slot(7, None) == "7 UNKNOWN"
    assert render_slot(3, ()) == "3 noop"


def test_every_operation() -> None:
    cases: list[tuple[KvOp | bytes, str]] = [
        (Put(key="k", value=b"v"), "put k='v'"),
        (Delete(key="k"), "del k"),
        (Cas(key="k", expected=None, value=b"v"), "cas k None->'v'"),
        (Cas(key="k", expected=b"a", value=b"b"), "cas k 'a'->'b'"),
        (Get(key="user/1"), "get user/1"),
        (Noop(), "noop"),
        (List(prefix="p", limit=3), "list 'p' 3"),
        (b"\xc1\x00", "bad c100"),
    ]
    for op, text in cases:
        assert render_slot(12, (_command(op),)) == f"12 9.4 {text}"


def test_a_batch_joins_its_commands() -> None:
    batch = (
        _command(Put(key="a", value=b"1"), client_id=1, seq=1),
        _command(Delete(key="b"), client_id=2, seq=5),
    )
    assert render_slot(2, batch) == "2 1.1 put a='1'; 2.5 del b"


def test_keys_that_are_not_plain_are_quoted() -> None:
    line = render_slot(1, (_command(Put(key="a b;\nc", value=b"x")),))
    assert line == "1 9.4 put 'a b;\\nc'='x'"
    assert render_slot(1, (_command(Delete(key="ключ")),)) == "1 9.4 del 'ключ'"
    assert render_slot(1, (_command(Delete(key="")),)) == "1 9.4 del ''"


def test_values_that_are_not_utf8_render_apart_from_their_escaped_look_alikes() -> None:
    assert render_value(b"\xff") == "'\\udcff'"
    assert render_value(b"\\xff") == "'\\\\xff'"
    assert render_value(b"caf\xc3\xa9") == "'café'"
    assert render_value(None) == "None"


@SETTINGS
@given(st.binary(max_size=20))
def test_a_value_comes_back_from_its_rendering(value: bytes) -> None:
    text = render_value(value)
    assert "\n" not in text
    back: str = ast.literal_eval(text)
    assert back.encode("utf-8", "surrogateescape") == value


@SETTINGS
@given(st.text(max_size=10), st.binary(max_size=10), st.binary(max_size=10))
def test_a_line_is_one_line_and_different_commands_render_apart(
    key: str, first: bytes, second: bytes
) -> None:
    a = render_slot(1, (_command(Put(key=key, value=first)),))
    b = render_slot(1, (_command(Put(key=key, value=second)),))
    assert "\n" not in a
    assert (a == b) == (first == second)


def test_render_lines_fills_every_slot_of_the_range() -> None:
    entries = [(2, ()), (3, (_command(Delete(key="k")),)), (6, ())]
    assert "".join(render_lines(entries, 1, 7)) == (
        "1 UNKNOWN\n2 noop\n3 9.4 del k\n4 UNKNOWN\n5 UNKNOWN\n6 noop\n7 UNKNOWN\n"
    )
    assert list(render_lines(entries, 3, 3)) == ["3 9.4 del k\n"]
    assert list(render_lines(entries, 5, 4)) == []
    assert list(render_lines([], 1, 2)) == ["1 UNKNOWN\n", "2 UNKNOWN\n"]
