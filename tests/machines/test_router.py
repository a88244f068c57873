"""Several machines on one log: routing, the clock command, timed machines, snapshots."""

from __future__ import annotations

import pytest

from pyxos.machines.base import ApplyContext
from pyxos.machines.kv import Get, KvMachine, Put, decode_result, encode_op
from pyxos.machines.router import CLOCK_OP, Router, route


class Alarm:
    """A timed machine: counts commands and remembers when it was advanced."""

    def __init__(self, deadline: int | None) -> None:
        self.deadline = deadline
        self.advanced: list[int] = []
        self.commands = 0

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        self.commands += 1
        return b"alarm:" + op

    def query(self, query: bytes) -> bytes:
        return b"%d" % self.commands

    def snapshot(self) -> bytes:
        return b"%d" % self.commands

    def restore(self, data: bytes) -> None:
        self.commands = int(data)

    def next_deadline_ms(self) -> int | None:
        return self.deadline

    def advance(self, ctx: ApplyContext) -> None:
        self.advanced.append(ctx.time_ms)
        self.deadline = None


def _ctx(time_ms: int = 0) -> ApplyContext:
    return ApplyContext(slot=1, time_ms=time_ms)


def test_unaddressed_commands_go_to_the_default_machine_unchanged() -> None:
    kv = KvMachine()
    router = Router({"kv": kv, "alarm": Alarm(None)}, default="kv")
    router.apply(encode_op(Put(key="k", value=b"v")), _ctx())
    assert decode_result(router.query(encode_op(Get(key="k")))).value == b"v"
    assert kv.data == {"k": b"v"}


def test_routed_commands_reach_their_machine() -> None:
    alarm = Alarm(None)
    router = Router({"kv": KvMachine(), "alarm": alarm}, default="kv")
    assert router.apply(route("alarm", b"x"), _ctx()) == b"alarm:x"
    assert router.query(route("alarm", b"")) == b"1"


def test_an_unknown_machine_or_a_bad_envelope_is_an_answer_not_a_crash() -> None:
    router = Router({"kv": KvMachine()}, default="kv")
    assert b"unknown_machine" in router.apply(route("nope", b"x"), _ctx())
    assert b"bad_envelope" in router.apply(b"\x93\xa1@\xc1", _ctx())


def test_time_reaches_a_timed_machine_before_the_command_that_observes_it() -> None:
    alarm = Alarm(deadline=100)
    router = Router({"kv": KvMachine(), "alarm": alarm}, default="kv")
    assert router.next_deadline_ms() == 100
    router.apply(CLOCK_OP, _ctx(99))
    assert alarm.advanced == []
    assert router.apply(CLOCK_OP, _ctx(100)) == b""
    assert alarm.advanced == [100]
    assert alarm.commands == 0  # the clock command itself is no machine's command
    assert router.next_deadline_ms() is None


def test_snapshot_restores_every_machine_and_refuses_other_names() -> None:
    router = Router({"kv": KvMachine(), "alarm": Alarm(None)}, default="kv")
    router.apply(encode_op(Put(key="k", value=b"v")), _ctx())
    router.apply(route("alarm", b""), _ctx())
    copy = Router({"kv": KvMachine(), "alarm": Alarm(None)}, default="kv")
    copy.restore(router.snapshot())
    assert copy.snapshot() == router.snapshot()
    with pytest.raises(ValueError, match="machines"):
        Router({"kv": KvMachine()}, default="kv").restore(router.snapshot())


def test_configuration_errors_are_named() -> None:
    with pytest.raises(ValueError, match="default"):
        Router({"kv": KvMachine()}, default="locks")
    with pytest.raises(ValueError, match="not empty"):
        route("", b"x")
