"""Operations, their validation, and the JSONL history format."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyxos.check import (
    HistoryParseError,
    Operation,
    OpKind,
    dump_jsonl,
    format_operation,
    parse_jsonl,
)


def test_a_valid_operation_keeps_its_fields() -> None:
    op = Operation(
        client=3, kind="cas", key="k", expected=None, value="v", invoke=5, complete=9, output=None
    )
    assert (op.client, op.kind, op.key, op.value, op.expected) == (3, "cas", "k", "v", None)
    assert (op.invoke, op.complete, op.output) == (5, 9, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.output = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "get", "invoke": 10, "complete": 9}, "before invoke"),
        ({"kind": "put", "invoke": 0, "complete": 1}, "put needs a value"),
        ({"kind": "cas", "expected": "a", "invoke": 0, "complete": 1}, "cas needs a value"),
        ({"kind": "get", "value": "v", "invoke": 0, "complete": 1}, "get takes no value"),
        ({"kind": "delete", "expected": "a", "invoke": 0, "complete": 1}, "no expected"),
        ({"kind": "put", "value": "v", "expected": "a", "invoke": 0, "complete": 1}, "expected"),
        ({"kind": "append", "invoke": 0, "complete": 1}, "kind must be one of"),
        ({"kind": "get", "invoke": True, "complete": 1}, "invoke must be an integer"),
        ({"kind": "get", "invoke": 0, "complete": 1.5}, "complete must be an integer"),
    ],
)
def test_invalid_operations_are_rejected_with_the_reason(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Operation(client=1, key="k", **fields)  # type: ignore[arg-type]


def test_a_cas_may_expect_the_key_absent() -> None:
    op = Operation(client=1, kind="cas", key="k", value="v", invoke=0, complete=1)
    assert op.expected is None


def test_parse_skips_blank_and_comment_lines_and_defaults_nulls() -> None:
    text = (
        "# a comment\n"
        "\n"
        '{"client": 1, "kind": "put", "key": "k", "value": "v", "invoke": 0, "complete": 5}\n'
        "   # an indented comment\n"
        '{"client": 2, "kind": "get", "key": "k", "invoke": 6, "complete": 9, "output": "v"}\n'
        '{"client": 3, "kind": "delete", "key": "k", "invoke": 7}\n'
    )
    ops = parse_jsonl(text)
    assert ops == [
        Operation(client=1, kind="put", key="k", value="v", invoke=0, complete=5),
        Operation(client=2, kind="get", key="k", invoke=6, complete=9, output="v"),
        Operation(client=3, kind="delete", key="k", invoke=7, complete=None),
    ]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"client": 1, "kind": "put", "key": "k", "invoke": 0, "complete": 1}', "needs a value"),
        ('{"client": 1, "kind": "get", "key": "k", "invoke": 5, "complete": 1}', "before invoke"),
        ('{"client": 1, "kind": "pop", "key": "k", "invoke": 0, "complete": 1}', "kind must be"),
        ('{"client": "1", "kind": "get", "key": "k", "invoke": 0}', "client"),
        ('{"client": 1, "kind": "get", "key": "k"}', "invoke"),
        ('{"client": 1, "kind": "get", "key": "k", "invoke": 0, "outptu": "v"}', "outptu"),
        ('{"client": 1, "kind": "get", "key": "k", "invoke": 0', "not a JSON object"),
        ("[1, 2]", "invalid operation"),
    ],
)
def test_parse_errors_name_the_line(bad_line: str, message: str) -> None:
    good = '{"client": 1, "kind": "get", "key": "k", "invoke": 0, "complete": 1}'
    with pytest.raises(HistoryParseError, match=message) as caught:
        parse_jsonl(f"# header\n{good}\n\n{bad_line}\n{good}\n")
    assert caught.value.line == 4
    assert str(caught.value).startswith("line 4: ")


def test_dump_omits_null_fields_but_shows_unknown_outcomes() -> None:
    ops = [
        Operation(client=1, kind="put", key="k", value="v", invoke=0, complete=5),
        Operation(client=2, kind="cas", key="k", expected="v", value="w", invoke=1, complete=None),
    ]
    assert dump_jsonl(ops) == (
        '{"client":1,"kind":"put","key":"k","value":"v","invoke":0,"complete":5}\n'
        '{"client":2,"kind":"cas","key":"k","value":"w","expected":"v","invoke":1,'
        '"complete":null}\n'
    )


# JSON's awkward characters (quotes, escapes, newlines, non-ASCII), without full-unicode setup.
_text = st.text(alphabet='ab"\\\n\u00e9\u2603 #{}', max_size=5)
_values = st.none() | _text


_KINDS: tuple[OpKind, ...] = ("get", "put", "delete", "cas")


@st.composite
def _operations(draw: st.DrawFn) -> Operation:
    kind = draw(st.sampled_from(_KINDS))
    invoke = draw(st.integers(-(2**40), 2**40))
    complete = draw(st.none() | st.integers(invoke, invoke + 2**20))
    return Operation(
        client=draw(st.integers(0, 2**31)),
        kind=kind,
        key=draw(_text),
        value=draw(_text) if kind in ("put", "cas") else None,
        expected=draw(_values) if kind == "cas" else None,
        invoke=invoke,
        complete=complete,
        output=draw(_values),
    )


@settings(derandomize=True, database=None, max_examples=200)
@given(st.lists(_operations(), max_size=8))
def test_dump_then_parse_gives_the_same_operations(ops: list[Operation]) -> None:
    assert parse_jsonl(dump_jsonl(ops)) == ops


def test_format_operation_shows_interval_call_and_result() -> None:
    done = Operation(
        client=3, kind="cas", key="k1", expected="a", value="b", invoke=10, complete=20, output="a"
    )
    assert format_operation(done) == '[10, 20] client 3: cas("k1", "a" -> "b") -> prev "a"'
    lost = Operation(client=4, kind="delete", key="k1", invoke=15, complete=None)
    assert format_operation(lost) == '[15, ?) client 4: delete("k1") -> outcome unknown'
    read = Operation(client=5, kind="get", key="k1", invoke=1, complete=2)
    assert format_operation(read) == '[1, 2] client 5: get("k1") -> read absent'
