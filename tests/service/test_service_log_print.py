"""`render_slot`: the exact line format that `pyxos log dump` and `pyxos check logs` compare
across nodes, with every machine's commands shown for a person (`describe_op`)."""

from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from pyxos.core.commands import Command
from pyxos.machines import ask, locks, queue, vmap
from pyxos.machines.catalog import ASK, LOCKS, MAP, QUEUE, describe_op
from pyxos.machines.display import show_value
from pyxos.machines.kv import Cas, Delete, Get, KvOp, List, Noop, Put, encode_op
from pyxos.machines.router import CLOCK_OP, route, unroute
from pyxos.service.log_print import render_lines, render_slot

SETTINGS = settings(derandomize=True, database=None, deadline=None)


def _command(op: KvOp | bytes, client_id: int = 9, seq: int = 4) -> Command:
    data = op if isinstance(op, bytes) else encode_op(op)
    return Command(client_id=client_id, seq=seq, op=data)


def test_gaps_and_empty_batches() -> None:
    assert render_slot(7, None) == "7 UNKNOWN"
    assert render_slot(3, ()) == "3 noop"


def test_every_key_value_operation() -> None:
    cases: list[tuple[KvOp | bytes, str]] = [
        (Put(key="k", value=b"v"), "put k='v'"),
        (Delete(key="k"), "del k"),
        (Cas(key="k", expected=None, value=b"v"), "cas k None->'v'"),
        (Cas(key="k", expected=b"a", value=b"b"), "cas k 'a'->'b'"),
        (Get(key="user/1"), "get user/1"),
        (Noop(), "noop"),
        (List(prefix="p", limit=3), "list 'p' 3"),
        (List(prefix="p", limit=3, after="p1"), "list 'p' 3 after 'p1'"),
        (b"\xc1\x00", "bad c100"),
    ]
    for op, text in cases:
        assert render_slot(12, (_command(op),)) == f"12 9.4 {text}"


def _lock(op: locks.LockOp) -> bytes:
    return route(LOCKS, locks.encode_op(op))


def _queue(op: queue.QueueOp) -> bytes:
    return route(QUEUE, queue.encode_op(op))


def _map(op: vmap.MapOp) -> bytes:
    return route(MAP, vmap.encode_op(op))


def test_every_machine_shows_its_commands_by_name() -> None:
    write = encode_op(Put(key="balance", value=b"100"))
    cases = [
        (
            _lock(locks.Acquire(lock="db", owner="al", ttl_ms=5, wait=False)),
            "acquire db al ttl=5ms",
        ),
        (
            _lock(locks.Acquire(lock="db", owner="b", ttl_ms=10, wait=True)),
            "acquire db b ttl=10ms wait",
        ),
        (
            _lock(locks.Refresh(lock="db", owner="al", token=3, ttl_ms=5)),
            "refresh db al token=3 ttl=5ms",
        ),
        (_lock(locks.Release(lock="db", owner="al", token=3)), "release db al token=3"),
        (_lock(locks.Cancel(lock="db", owner="a b")), "cancel db 'a b'"),
        (_lock(locks.Whose(lock="db")), "whose db"),
        (
            _lock(locks.Guarded(lock="db", token=3, op=write)),
            "guarded db token=3: put balance='100'",
        ),
        (_lock(locks.Guarded(lock="db", token=3, op=b"\xc1")), "guarded db token=3: bad c1"),
        (route(ASK, ask.encode_op(ask.Ask(key="leader", value=b"n1"))), "ask leader='n1'"),
        (route(ASK, ask.encode_op(ask.Ask(key="leader", value=None))), "ask leader"),
        (_queue(queue.Push(queue="jobs", item=b"\x00\x01")), "push jobs 0x0001"),
        (_queue(queue.Peek(queue="jobs")), "peek jobs"),
        (_queue(queue.Pop(queue="jobs")), "pop jobs"),
        (route(QUEUE, b"\xc1"), "bad c1"),
        (_map(vmap.MapPut(key="k", value=b"v")), "put k='v'"),
        (_map(vmap.MapGet(key="k")), "get k"),
        (_map(vmap.MapUpdate(key="k", value=b"w", version=2)), "update k='w' version=2"),
        (_map(vmap.MapDelete(key="k", version=None)), "del k"),
        (_map(vmap.MapDelete(key="k", version=3)), "del k version=3"),
        (route("kv", write), "put balance='100'"),
    ]
    for op, text in cases:
        name = unroute(op)
        assert name is not None
        assert describe_op(op) == f"{name[0]} {text}"
        assert render_slot(5, (_command(op),)) == f"5 9.4 {name[0]} {text}"
    assert describe_op(CLOCK_OP) == "clock"


def test_what_no_machine_decodes_is_bad_and_its_bytes() -> None:
    for op in (route("nobody", b"x"), b"\x93\xa1@\xc1", b"\xc1\x00"):
        assert describe_op(op) == f"bad {op.hex()}"


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


def test_text_is_quoted_and_every_other_value_is_hex() -> None:
    assert show_value(b"caf\xc3\xa9") == "'café'"
    assert show_value(b"") == "''"
    assert show_value(b"\\xff") == "'\\\\xff'"
    assert show_value(None) == "None"
    # Paxi's benchmark writes a uvarint in 10 bytes: binary, shown the same way whatever it is.
    assert show_value(b"\x96\xb1\xe4\x03" + bytes(6)) == "0x96b1e403000000000000"
    assert show_value(b"\x05" + bytes(9)) == "0x05000000000000000000"
    assert show_value(b"\xff") == "0xff"
    assert show_value(b"line\n") == "0x6c696e650a"


@SETTINGS
@given(st.binary(max_size=20) | st.text(max_size=10).map(str.encode))
def test_a_value_comes_back_from_its_rendering(value: bytes) -> None:
    text = show_value(value)
    assert "\n" not in text
    if text.startswith("0x"):
        assert bytes.fromhex(text[2:]) == value
    else:
        back: str = ast.literal_eval(text)
        assert back.encode() == value


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
