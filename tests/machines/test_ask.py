"""Write-once values: the first value decides, every later ask learns it."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule
from machine_model import CTX, MODEL_SETTINGS, MachineAgainstModel

from pyxos.machines.ask import (
    ERROR_BAD_COMMAND,
    ERROR_NOT_A_QUERY,
    Ask,
    AskMachine,
    AskResult,
    decode_op,
    decode_result,
    encode_op,
    encode_result,
)


def _ask(machine: AskMachine, key: str, value: bytes | None) -> AskResult:
    return decode_result(machine.apply(encode_op(Ask(key=key, value=value)), CTX))


def test_the_first_value_decides_and_later_ones_learn_it() -> None:
    machine = AskMachine()
    assert _ask(machine, "k", None) == AskResult(key="k")
    assert _ask(machine, "k", b"a") == AskResult(key="k", value=b"a", decided_now=True)
    assert _ask(machine, "k", b"b") == AskResult(key="k", value=b"a")
    assert _ask(machine, "other", b"b") == AskResult(key="other", value=b"b", decided_now=True)


def test_a_query_learns_but_never_proposes() -> None:
    machine = AskMachine()
    _ask(machine, "k", b"a")
    assert decode_result(machine.query(encode_op(Ask(key="k", value=None)))).value == b"a"
    refused = decode_result(machine.query(encode_op(Ask(key="j", value=b"x"))))
    assert (refused.ok, refused.error) == (False, ERROR_NOT_A_QUERY)
    assert len(machine) == 1


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\x93\xa3ask\x01\x02"])
def test_bad_bytes_are_answered_not_raised(data: bytes) -> None:
    machine = AskMachine()
    assert decode_result(machine.apply(data, CTX)).error == ERROR_BAD_COMMAND
    assert decode_result(machine.query(data)).error == ERROR_BAD_COMMAND


def test_the_codecs_round_trip() -> None:
    assert decode_op(encode_op(Ask(key="k", value=None))) == Ask(key="k", value=None)
    result = AskResult(key="k", value=b"v", decided_now=True)
    assert decode_result(encode_result(result)) == result


def test_snapshots_are_equal_for_equal_states_and_bad_ones_are_refused() -> None:
    first, second = AskMachine(), AskMachine()
    for key in "ab":
        _ask(first, key, key.encode())
    for key in "ba":
        _ask(second, key, key.encode())
    assert first.snapshot() == second.snapshot()
    restored = AskMachine()
    restored.restore(first.snapshot())
    assert _ask(restored, "a", b"zz").value == b"a"
    with pytest.raises(ValueError):
        restored.restore(b"\xc1")


class AskAgainstDict(MachineAgainstModel[AskMachine]):
    def __init__(self) -> None:
        super().__init__(
            AskMachine,
            decode_op=decode_op,
            decode_result=decode_result,
            bad_command=ERROR_BAD_COMMAND,
        )
        self.model: dict[str, bytes] = {}

    @rule(key=st.sampled_from(["a", "b"]), value=st.none() | st.binary(max_size=2))
    def ask(self, key: str, value: bytes | None) -> None:
        decided_now = key not in self.model and value is not None
        if decided_now:
            assert value is not None
            self.model[key] = value
        expected = AskResult(key=key, value=self.model.get(key), decided_now=decided_now)
        assert _ask(self.machine, key, value) == expected


TestAskAgainstDict = AskAgainstDict.TestCase
TestAskAgainstDict.settings = MODEL_SETTINGS
