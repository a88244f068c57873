"""The sequential KV model: what each operation returns and leaves behind."""

from __future__ import annotations

import pytest

from pyxos.check.history import Operation
from pyxos.check.model import INITIAL, State, apply, step


def _op(
    kind: str, *, value: str | None = None, expected: str | None = None, **kw: object
) -> Operation:
    fields: dict[str, object] = {"client": 1, "key": "k", "invoke": 0, "complete": 1}
    fields.update(kw)
    return Operation(kind=kind, value=value, expected=expected, **fields)  # type: ignore[arg-type]


def test_a_key_starts_absent() -> None:
    assert INITIAL is None


@pytest.mark.parametrize(
    ("state", "op", "output", "after"),
    [
        (None, _op("get"), None, None),
        ("a", _op("get"), "a", "a"),
        (None, _op("put", value="b"), None, "b"),
        ("a", _op("put", value="b"), "a", "b"),
        ("a", _op("delete"), "a", None),
        (None, _op("delete"), None, None),
        ("a", _op("cas", expected="a", value="b"), "a", "b"),
        ("c", _op("cas", expected="a", value="b"), "c", "c"),
        (None, _op("cas", expected=None, value="b"), None, "b"),
        ("a", _op("cas", expected=None, value="b"), "a", "a"),
    ],
)
def test_apply_returns_the_previous_value_and_the_next_state(
    state: State, op: Operation, output: str | None, after: State
) -> None:
    assert apply(state, op) == (output, after)


def test_step_accepts_only_the_output_the_state_explains() -> None:
    assert step("a", _op("get", output="a")) == (True, "a")
    assert step("a", _op("get", output="b"))[0] is False
    assert step("a", _op("put", value="b", output="a")) == (True, "b")
    assert step("a", _op("put", value="b", output=None))[0] is False
    assert step("a", _op("cas", expected="x", value="b", output="a")) == (True, "a")


def test_an_unknown_outcome_is_always_allowed_and_still_takes_effect() -> None:
    lost_put = _op("put", value="b", complete=None, output="ignored")
    assert step("a", lost_put) == (True, "b")
    lost_cas = _op("cas", expected="a", value="b", complete=None)
    assert step("a", lost_cas) == (True, "b")
    assert step("z", lost_cas) == (True, "z")
