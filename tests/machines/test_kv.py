"""The KV machine: results as specified, a dict model, bad bytes, snapshots and the codec."""

from __future__ import annotations

from random import Random

import msgspec
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pyxos.machines import kv
from pyxos.machines.base import ApplyContext, StateMachine
from pyxos.machines.kv import (
    ERROR_BAD_COMMAND,
    ERROR_NOT_A_QUERY,
    ERROR_QUERY_ONLY,
    Cas,
    Delete,
    Get,
    KvList,
    KvMachine,
    KvOp,
    KvResult,
    List,
    Noop,
    Put,
    decode_list,
    decode_op,
    decode_result,
    encode_list,
    encode_op,
    encode_result,
)
from pyxos.machines.sessions import SessionTable

SETTINGS = settings(derandomize=True, database=None, deadline=None)

KEYS = st.sampled_from(["a", "b", "c", "", "ключ"])
VALUES = st.binary(max_size=3)
OPS: st.SearchStrategy[KvOp] = st.one_of(
    st.builds(Get, key=KEYS),
    st.builds(Put, key=KEYS, value=VALUES),
    st.builds(Delete, key=KEYS),
    st.builds(Cas, key=KEYS, expected=st.none() | VALUES, value=VALUES),
    st.just(Noop()),
    st.builds(List, prefix=st.sampled_from(["", "a", "к"]), limit=st.integers(0, 4), after=KEYS),
)

CTX = ApplyContext(slot=1, time_ms=0)


def _run(machine: StateMachine, op: KvOp) -> KvResult:
    return decode_result(machine.apply(encode_op(op), CTX))


def _machine(**data: bytes) -> KvMachine:
    machine = KvMachine()
    for key, value in data.items():
        _run(machine, Put(key=key, value=value))
    return machine


def test_put_answers_the_previous_value() -> None:
    machine = KvMachine()
    assert _run(machine, Put(key="k", value=b"1")) == KvResult(ok=True, value=None)
    assert _run(machine, Put(key="k", value=b"2")) == KvResult(ok=True, value=b"1")
    assert _run(machine, Get(key="k")) == KvResult(ok=True, value=b"2")


def test_delete_answers_the_previous_value_and_absent_keys_are_fine() -> None:
    machine = _machine(k=b"1")
    assert _run(machine, Delete(key="k")) == KvResult(ok=True, value=b"1")
    assert _run(machine, Delete(key="k")) == KvResult(ok=True, value=None)
    assert len(machine) == 0


def test_cas_sets_only_on_match_and_always_answers_the_previous_value() -> None:
    machine = _machine(k=b"1")
    assert _run(machine, Cas(key="k", expected=b"0", value=b"2")) == KvResult(ok=False, value=b"1")
    assert machine.data == {"k": b"1"}
    assert _run(machine, Cas(key="k", expected=b"1", value=b"2")) == KvResult(ok=True, value=b"1")
    assert machine.data == {"k": b"2"}


def test_cas_with_expected_none_means_the_key_must_be_absent() -> None:
    machine = KvMachine()
    assert _run(machine, Cas(key="k", expected=None, value=b"1")) == KvResult(ok=True)
    assert _run(machine, Cas(key="k", expected=None, value=b"2")) == KvResult(ok=False, value=b"1")
    assert machine.data == {"k": b"1"}


def test_empty_value_is_present_not_absent() -> None:
    machine = _machine(k=b"")
    assert _run(machine, Cas(key="k", expected=None, value=b"x")).ok is False
    assert _run(machine, Get(key="k")) == KvResult(value=b"")


def test_noop_changes_nothing() -> None:
    machine = _machine(k=b"1")
    assert _run(machine, Noop()) == KvResult()
    assert machine.data == {"k": b"1"}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        b"\x92\xa3bad\xa1k",  # unknown tag
        b"\x92\xa3put\xa1k",  # put without a value
        b"\x93\xa3put\x01\xc4\x011",  # key is not a string
        encode_op(Put(key="k", value=b"1")) + b"\x00",  # trailing bytes
        b"\x91" * 100_000,  # deep nesting
    ],
)
def test_bad_bytes_answer_bad_command_and_change_nothing(data: bytes) -> None:
    machine = _machine(k=b"1")
    before = machine.snapshot()
    assert decode_result(machine.apply(data, CTX)) == KvResult(ok=False, error=ERROR_BAD_COMMAND)
    assert decode_result(machine.query(data)) == KvResult(ok=False, error=ERROR_BAD_COMMAND)
    assert machine.snapshot() == before
    with pytest.raises(ValueError):
        decode_op(data)


def test_query_answers_get_and_refuses_writes() -> None:
    machine = _machine(k=b"1")
    assert decode_result(machine.query(encode_op(Get(key="k")))) == KvResult(value=b"1")
    assert decode_result(machine.query(encode_op(Get(key="x")))) == KvResult(value=None)
    for op in (Put(key="k", value=b"2"), Delete(key="k"), Cas(key="k", expected=b"1", value=b"2")):
        answer = decode_result(machine.query(encode_op(op)))
        assert answer == KvResult(ok=False, error=ERROR_NOT_A_QUERY)
    assert machine.data == {"k": b"1"}


def _list(machine: KvMachine, prefix: str, limit: int, after: str = "") -> KvList:
    return decode_list(machine.query(encode_op(List(prefix=prefix, limit=limit, after=after))))


def test_list_answers_sorted_keys_with_the_prefix_up_to_the_limit() -> None:
    machine = _machine(b=b"2", a=b"1", ab=b"3", c=b"4", aa=b"5")
    assert _list(machine, "a", 10) == KvList(
        items=(("a", b"1"), ("aa", b"5"), ("ab", b"3")), truncated=False
    )
    assert _list(machine, "a", 2) == KvList(items=(("a", b"1"), ("aa", b"5")), truncated=True)
    assert _list(machine, "a", 3).truncated is False  # exactly the limit: nothing left out
    assert _list(machine, "", 100).items[-1] == ("c", b"4")
    assert _list(machine, "x", 5) == KvList()
    assert _list(machine, "a", 0) == KvList(truncated=True)
    assert _list(KvMachine(), "", 0) == KvList()


def test_list_after_a_cursor_answers_the_keys_strictly_greater() -> None:
    machine = _machine(a=b"1", aa=b"5", ab=b"3", b=b"2", c=b"4")
    first = _list(machine, "a", 2)
    assert first.next == "aa"
    assert _list(machine, "a", 2, after="aa") == KvList(items=(("ab", b"3"),), truncated=False)
    assert _list(machine, "a", 2, after="aa").next is None
    assert _list(machine, "", 10, after="ab").items == (("b", b"2"), ("c", b"4"))
    assert _list(machine, "", 10, after="b0").items == (("c", b"4"),)  # not a key: fine
    assert _list(machine, "", 10, after="c") == KvList()
    assert _list(machine, "a", 0, after="a") == KvList(truncated=True)  # next is None


def test_paging_with_the_cursor_reaches_every_key_once() -> None:
    machine = _machine(**{f"k{i:03d}": str(i).encode() for i in range(250)})
    seen: list[str] = []
    after = ""
    pages = 0
    while True:
        page = _list(machine, "k", 100, after=after)
        pages += 1
        seen += [key for key, _ in page.items]
        if page.next is None:
            assert not page.truncated
            break
        after = page.next
    assert pages == 3
    assert seen == sorted(machine.data)


def test_the_cursor_continues_after_the_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kv, "LIST_BYTES_MAX", 10)
    machine = _machine(a=b"x" * 20, b=b"y" * 20, c=b"z")
    first = _list(machine, "", 10)
    assert (first.items, first.next) == ((("a", b"x" * 20),), "a")
    assert _list(machine, "", 10, after="a").next == "b"
    assert _list(machine, "", 10, after="b") == KvList(items=(("c", b"z"),), truncated=False)


def test_list_stops_at_the_byte_budget_but_always_lists_one_item(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kv, "LIST_BYTES_MAX", 10)
    machine = _machine(a=b"x" * 20, b=b"y", c=b"z")
    assert _list(machine, "", 10) == KvList(items=(("a", b"x" * 20),), truncated=True)
    assert _list(machine, "b", 10) == KvList(items=(("b", b"y"),), truncated=False)


def test_list_is_a_query_only_and_a_negative_limit_is_a_bad_command() -> None:
    machine = _machine(a=b"1")
    before = machine.snapshot()
    op = encode_op(List(prefix="", limit=5))
    assert decode_result(machine.apply(op, CTX)) == KvResult(ok=False, error=ERROR_QUERY_ONLY)
    bad = machine.query(encode_op(List(prefix="", limit=-1)))
    assert decode_result(bad) == KvResult(ok=False, error=ERROR_BAD_COMMAND)
    with pytest.raises(ValueError):
        decode_list(bad)  # an error answer is never read as an empty list
    assert machine.snapshot() == before


def test_wire_format_is_a_tagged_array() -> None:
    # Pinned: the log keeps these bytes forever, so the layout must not drift.
    assert encode_op(Put(key="k", value=b"v")) == msgspec.msgpack.encode(["put", "k", b"v"])
    assert encode_op(Cas(key="k", expected=None, value=b"v")) == msgspec.msgpack.encode(
        ["cas", "k", None, b"v"]
    )
    assert encode_op(Noop()) == msgspec.msgpack.encode(["noop"])
    assert encode_result(KvResult(value=b"v")) == msgspec.msgpack.encode([True, b"v", None])
    assert encode_op(List(prefix="p", limit=2, after="k")) == msgspec.msgpack.encode(
        ["list", "p", 2, "k"]
    )
    # The cursor is a trailing field with a default: the form without it still decodes.
    assert decode_op(msgspec.msgpack.encode(["list", "p", 2])) == List(prefix="p", limit=2)
    assert encode_list(KvList(items=(("k", b"v"),), truncated=True)) == msgspec.msgpack.encode(
        ["kvlist", [["k", b"v"]], True]
    )


@SETTINGS
@given(OPS)
def test_ops_round_trip(op: KvOp) -> None:
    assert decode_op(encode_op(op)) == op


@SETTINGS
@given(st.builds(KvResult, ok=st.booleans(), value=st.none() | VALUES, error=st.none() | KEYS))
def test_results_round_trip(result: KvResult) -> None:
    assert decode_result(encode_result(result)) == result


@SETTINGS
@given(st.dictionaries(KEYS, VALUES), st.randoms(use_true_random=False))
def test_equal_states_built_in_any_order_have_equal_snapshots(
    data: dict[str, bytes], rnd: Random
) -> None:
    items = list(data.items())
    rnd.shuffle(items)
    first, second = KvMachine(), KvMachine()
    for key, value in data.items():
        _run(first, Put(key=key, value=value))
    for key, value in items:
        _run(second, Put(key=key, value=b"old"))  # overwritten below: history must not leak
        _run(second, Put(key=key, value=value))
    _run(second, Put(key="gone", value=b"x"))
    _run(second, Delete(key="gone"))
    assert second.snapshot() == first.snapshot()


@SETTINGS
@given(st.lists(OPS, max_size=20), st.lists(OPS, max_size=20))
def test_a_restored_machine_behaves_identically(before: list[KvOp], after: list[KvOp]) -> None:
    original = KvMachine()
    for op in before:
        original.apply(encode_op(op), CTX)
    restored = KvMachine()
    restored.restore(original.snapshot())
    assert restored.snapshot() == original.snapshot()
    for op in after:
        assert restored.apply(encode_op(op), CTX) == original.apply(encode_op(op), CTX)
    assert restored.data == original.data


def test_restore_refuses_bad_bytes_and_keeps_the_state() -> None:
    machine = _machine(k=b"1")
    for data in (b"", b"\xff", SessionTable().snapshot(), encode_op(Noop())):
        with pytest.raises(ValueError):
            machine.restore(data)
    assert machine.data == {"k": b"1"}


def test_data_is_a_read_only_view() -> None:
    machine = _machine(k=b"1")
    with pytest.raises(TypeError):
        machine.data["k"] = b"2"  # type: ignore[index]


class KvAgainstDict(RuleBasedStateMachine):
    """Random operations on the machine and on a dict must give the same answers and state."""

    def __init__(self) -> None:
        super().__init__()
        self.machine = KvMachine()
        self.model: dict[str, bytes] = {}

    @rule(key=KEYS, through_log=st.booleans())
    def get(self, key: str, through_log: bool) -> None:
        data = encode_op(Get(key=key))
        answer = self.machine.apply(data, CTX) if through_log else self.machine.query(data)
        assert decode_result(answer) == KvResult(value=self.model.get(key))

    @rule(key=KEYS, value=VALUES)
    def put(self, key: str, value: bytes) -> None:
        expected = KvResult(value=self.model.get(key))
        self.model[key] = value
        assert _run(self.machine, Put(key=key, value=value)) == expected

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        expected = KvResult(value=self.model.pop(key, None))
        assert _run(self.machine, Delete(key=key)) == expected

    @rule(key=KEYS, value=VALUES, guess=st.none() | VALUES, use_current=st.booleans())
    def cas(self, key: str, value: bytes, guess: bytes | None, use_current: bool) -> None:
        previous = self.model.get(key)
        expected = previous if use_current else guess
        if previous == expected:
            self.model[key] = value
        answer = _run(self.machine, Cas(key=key, expected=expected, value=value))
        assert answer == KvResult(ok=previous == expected, value=previous)

    @rule(
        prefix=st.sampled_from(["", "a", "b", "к"]),
        limit=st.integers(0, 6),
        after=st.sampled_from(["", "a", "ab", "b", "z"]) | KEYS,
    )
    def list_keys(self, prefix: str, limit: int, after: str) -> None:
        matching = sorted(k for k in self.model if k.startswith(prefix) and k > after)
        expected = KvList(
            items=tuple((k, self.model[k]) for k in matching[:limit]),
            truncated=len(matching) > limit,
        )
        assert _list(self.machine, prefix, limit, after) == expected

    @rule()
    def noop(self) -> None:
        assert _run(self.machine, Noop()) == KvResult()

    @rule(data=st.binary(max_size=12))
    def garbage(self, data: bytes) -> None:
        try:
            decode_op(data)
        except ValueError:
            pass
        else:
            assume(False)  # random bytes that happen to be a valid op: not this rule's concern
        assert decode_result(self.machine.apply(data, CTX)).error == ERROR_BAD_COMMAND

    @rule()
    def restart_from_snapshot(self) -> None:
        restored = KvMachine()
        restored.restore(self.machine.snapshot())
        self.machine = restored

    @invariant()
    def same_state(self) -> None:
        assert self.machine.data == self.model
        assert len(self.machine) == len(self.model)


TestKvAgainstDict = KvAgainstDict.TestCase
TestKvAgainstDict.settings = settings(SETTINGS, max_examples=100, stateful_step_count=40)
