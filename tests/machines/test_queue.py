"""FIFO queues by name: push, peek, pop against a dict of lists."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule
from machine_model import CTX, MODEL_SETTINGS, MachineAgainstModel

from pyxos.machines.queue import (
    ERROR_BAD_COMMAND,
    ERROR_EMPTY,
    ERROR_NOT_A_QUERY,
    Peek,
    Pop,
    Push,
    QueueMachine,
    QueueOp,
    QueueResult,
    decode_op,
    decode_result,
    encode_op,
    encode_result,
)


def _run(machine: QueueMachine, op: QueueOp) -> QueueResult:
    return decode_result(machine.apply(encode_op(op), CTX))


def test_items_come_out_in_the_order_they_went_in() -> None:
    machine = QueueMachine()
    assert _run(machine, Push(queue="q", item=b"1")) == QueueResult(length=1)
    assert _run(machine, Push(queue="q", item=b"2")) == QueueResult(length=2)
    assert _run(machine, Peek(queue="q")) == QueueResult(item=b"1", length=2)
    assert _run(machine, Pop(queue="q")) == QueueResult(item=b"1", length=1)
    assert _run(machine, Pop(queue="q")) == QueueResult(item=b"2", length=0)
    assert len(machine) == 0


def test_an_empty_queue_peeks_nothing_and_refuses_a_pop() -> None:
    machine = QueueMachine()
    assert _run(machine, Peek(queue="q")) == QueueResult()
    assert _run(machine, Pop(queue="q")) == QueueResult(ok=False, error=ERROR_EMPTY)


def test_peek_is_the_only_query() -> None:
    machine = QueueMachine()
    _run(machine, Push(queue="q", item=b"x"))
    assert decode_result(machine.query(encode_op(Peek(queue="q")))).item == b"x"
    assert decode_result(machine.query(encode_op(Pop(queue="q")))).error == ERROR_NOT_A_QUERY
    assert _run(machine, Peek(queue="q")).length == 1


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\x92\xa4push\x01"])
def test_bad_bytes_are_answered_not_raised(data: bytes) -> None:
    assert decode_result(QueueMachine().apply(data, CTX)).error == ERROR_BAD_COMMAND


def test_the_codecs_round_trip() -> None:
    assert decode_op(encode_op(Push(queue="q", item=b"i"))) == Push(queue="q", item=b"i")
    assert decode_result(encode_result(QueueResult(item=b"i", length=3))).length == 3


def test_snapshots_are_equal_for_equal_states_and_bad_ones_are_refused() -> None:
    first, second = QueueMachine(), QueueMachine()
    for name in "ab":
        _run(first, Push(queue=name, item=b"x"))
    for name in "ba":
        _run(second, Push(queue=name, item=b"x"))
    _run(second, Push(queue="c", item=b"gone"))
    _run(second, Pop(queue="c"))
    assert first.snapshot() == second.snapshot()
    restored = QueueMachine()
    restored.restore(first.snapshot())
    assert _run(restored, Pop(queue="a")).item == b"x"
    for bad in (b"\xc1", QueueMachine().snapshot().replace(b"\x80", b"\x81\xa1q\x90")):
        with pytest.raises(ValueError):
            restored.restore(bad)


class QueuesAgainstLists(MachineAgainstModel[QueueMachine]):
    def __init__(self) -> None:
        super().__init__(
            QueueMachine,
            decode_op=decode_op,
            decode_result=decode_result,
            bad_command=ERROR_BAD_COMMAND,
        )
        self.model: dict[str, list[bytes]] = {}

    @rule(name=st.sampled_from(["a", "b"]), item=st.binary(max_size=2))
    def push(self, name: str, item: bytes) -> None:
        self.model.setdefault(name, []).append(item)
        assert _run(self.machine, Push(queue=name, item=item)) == QueueResult(
            length=len(self.model[name])
        )

    @rule(name=st.sampled_from(["a", "b"]), through_log=st.booleans())
    def peek(self, name: str, through_log: bool) -> None:
        items = self.model.get(name, [])
        data = encode_op(Peek(queue=name))
        answer = self.machine.apply(data, CTX) if through_log else self.machine.query(data)
        assert decode_result(answer) == QueueResult(
            item=items[0] if items else None, length=len(items)
        )

    @rule(name=st.sampled_from(["a", "b"]))
    def pop(self, name: str) -> None:
        items = self.model.get(name, [])
        if not items:
            expected = QueueResult(ok=False, error=ERROR_EMPTY)
        else:
            expected = QueueResult(item=items.pop(0), length=len(items))
            if not items:
                del self.model[name]
        assert _run(self.machine, Pop(queue=name)) == expected


TestQueuesAgainstLists = QueuesAgainstLists.TestCase
TestQueuesAgainstLists.settings = MODEL_SETTINGS
