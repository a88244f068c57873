"""Exactly-once sessions: retries answered from the table, stale commands ignored, snapshots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyxos.machines.base import ApplyContext, StateMachine
from pyxos.machines.kv import KvMachine, KvResult, Put, decode_result, encode_op
from pyxos.machines.sessions import (
    FRESH,
    NO_SESSION,
    STALE,
    Duplicate,
    Fresh,
    SessionTable,
    Stale,
    apply_command,
)

SETTINGS = settings(derandomize=True, database=None, deadline=None)


class Recorder:
    """A state machine that logs what it applies, so applying twice is visible."""

    def __init__(self) -> None:
        self.applied: list[bytes] = []

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        self.applied.append(op)
        return b"result#%d" % len(self.applied)

    def query(self, query: bytes) -> bytes:
        return b""

    def snapshot(self) -> bytes:
        return b""

    def restore(self, data: bytes) -> None:
        pass


def _table(*entries: tuple[int, int, bytes]) -> SessionTable:
    table = SessionTable()
    for client_id, seq, result in entries:
        table.record(client_id, seq, result)
    return table


def _apply(
    machine: StateMachine, table: SessionTable, client_id: int, seq: int, op: bytes
) -> bytes | None:
    return apply_command(machine, table, op, ApplyContext(1, 0, client_id, seq))


def test_check_classifies_against_the_last_applied_seq() -> None:
    table = _table((7, 3, b"r3"))
    assert table.check(7, 4) is FRESH
    assert table.check(7, 3) == Duplicate(result=b"r3")
    assert table.check(7, 2) is STALE
    assert table.check(8, 1) is FRESH
    assert table.last_seq(7) == 3
    assert table.last_seq(8) == 0


def test_seq_below_one_is_never_applied() -> None:
    table = SessionTable()
    assert table.check(7, 0) is STALE
    assert table.check(7, -5) is STALE


def test_singletons_are_the_classes_instances() -> None:
    assert isinstance(FRESH, Fresh) and isinstance(STALE, Stale)


def test_record_keeps_only_the_latest_result_per_client() -> None:
    table = _table((7, 1, b"r1"), (7, 2, b"r2"), (9, 1, b"s1"))
    assert len(table) == 2
    assert table.check(7, 2) == Duplicate(result=b"r2")
    assert table.check(7, 1) is STALE


def test_record_refuses_misuse_and_changes_nothing() -> None:
    table = _table((7, 2, b"r2"))
    before = table.snapshot()
    with pytest.raises(ValueError, match="not after 2"):
        table.record(7, 2, b"again")
    with pytest.raises(ValueError, match="not after 2"):
        table.record(7, 1, b"older")
    with pytest.raises(ValueError, match="no session"):
        table.record(NO_SESSION, 1, b"x")
    assert table.snapshot() == before


def test_a_retried_command_is_applied_once_and_answered_from_the_table() -> None:
    machine, table = Recorder(), SessionTable()
    first = _apply(machine, table, 7, 1, b"op1")
    retry = _apply(machine, table, 7, 1, b"op1")
    assert first == retry == b"result#1"
    assert machine.applied == [b"op1"]


def test_a_stale_command_is_ignored() -> None:
    machine, table = Recorder(), SessionTable()
    _apply(machine, table, 7, 1, b"op1")
    _apply(machine, table, 7, 2, b"op2")
    assert _apply(machine, table, 7, 1, b"op1") is None
    assert machine.applied == [b"op1", b"op2"]
    assert table.last_seq(7) == 2


def test_client_zero_always_applies_and_is_never_recorded() -> None:
    machine, table = Recorder(), SessionTable()
    assert _apply(machine, table, NO_SESSION, 1, b"noop") == b"result#1"
    assert _apply(machine, table, NO_SESSION, 1, b"noop") == b"result#2"
    assert len(table) == 0


def test_a_retried_put_answers_the_value_it_overwrote_not_its_own() -> None:
    # Without sessions the retry would answer b"mine" as the previous value.
    machine, table = KvMachine(), SessionTable()
    put = encode_op(Put(key="k", value=b"mine"))
    _apply(machine, table, 1, 1, encode_op(Put(key="k", value=b"theirs")))
    first = _apply(machine, table, 2, 1, put)
    retry = _apply(machine, table, 2, 1, put)
    assert first == retry
    assert first is not None and decode_result(first) == KvResult(value=b"theirs")


def test_snapshot_round_trip_gives_the_same_answers_and_bytes() -> None:
    table = _table((9, 4, b"r9"), (2, 1, b"r2"), (5, 3, b""))
    restored = SessionTable()
    restored.restore(table.snapshot())
    assert restored.snapshot() == table.snapshot()
    for client_id in (2, 5, 9, 11):
        for seq in range(6):
            assert restored.check(client_id, seq) == table.check(client_id, seq)


def test_snapshot_does_not_depend_on_the_order_clients_arrived() -> None:
    one = _table((1, 1, b"a"), (2, 1, b"b"), (1, 2, b"c"))
    two = _table((2, 1, b"b"), (1, 2, b"c"))
    assert one.snapshot() == two.snapshot()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        KvMachine().snapshot(),
        b"\x92\xa9sessions1\x91\x93\x00\x01\xc4\x00",  # client 0
        b"\x92\xa9sessions1\x91\x93\x01\x00\xc4\x00",  # seq 0
        b"\x92\xa9sessions1\x92\x93\x02\x01\xc4\x00\x93\x01\x01\xc4\x00",  # out of order
    ],
)
def test_restore_refuses_bad_snapshots_and_keeps_the_table(data: bytes) -> None:
    table = _table((7, 2, b"r2"))
    with pytest.raises(ValueError):
        table.restore(data)
    assert table.check(7, 2) == Duplicate(result=b"r2")
    assert len(table) == 1


@st.composite
def _deliveries(draw: st.DrawFn) -> list[tuple[int, int]]:
    """What reaches the log: each client's next command, or a retry of one already sent.

    A client sends seq k + 1 only after seq k was delivered once (one outstanding command).
    """
    sent = {1: 0, 2: 0, 3: 0}
    deliveries = []
    for _ in range(draw(st.integers(0, 40))):
        client_id = draw(st.sampled_from(sorted(sent)))
        if sent[client_id] and draw(st.booleans()):
            deliveries.append((client_id, draw(st.integers(1, sent[client_id]))))
        else:
            sent[client_id] += 1
            deliveries.append((client_id, sent[client_id]))
    return deliveries


@SETTINGS
@given(_deliveries())
def test_every_command_is_applied_exactly_once_whatever_the_retries(
    deliveries: list[tuple[int, int]],
) -> None:
    machine, table = Recorder(), SessionTable()
    answers: dict[tuple[int, int], bytes] = {}
    for client_id, seq in deliveries:
        op = b"%d:%d" % (client_id, seq)
        answer = _apply(machine, table, client_id, seq, op)
        if (client_id, seq) not in answers:
            assert answer is not None
            answers[client_id, seq] = answer
        elif seq == table.last_seq(client_id):
            assert answer == answers[client_id, seq]
        else:
            assert answer is None
    assert sorted(machine.applied) == sorted(b"%d:%d" % key for key in answers)
    assert len(machine.applied) == len(answers)
