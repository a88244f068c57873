"""What the model-based tests of the small machines (ask, queue, vmap) share.

`MachineAgainstModel` runs a machine beside a plain-Python model and holds the rules that do
not depend on the machine: random bytes that are not an operation answer `bad_command` through
the log, a restart from a snapshot keeps the state, and the machine holds as many entries as its
model. A subclass adds the machine's own rules and sets its model.
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from typing import Generic, Protocol, TypeVar

from hypothesis import assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pyxos.machines.base import ApplyContext

CTX = ApplyContext(slot=1, time_ms=0)

MODEL_SETTINGS = settings(
    derandomize=True, database=None, deadline=None, max_examples=50, stateful_step_count=30
)


class _Machine(Protocol):
    def apply(self, op: bytes, ctx: ApplyContext) -> bytes: ...

    def snapshot(self) -> bytes: ...

    def restore(self, data: bytes) -> None: ...

    def __len__(self) -> int: ...


class _Result(Protocol):
    @property
    def error(self) -> str | None: ...


MachineT = TypeVar("MachineT", bound=_Machine)


class MachineAgainstModel(RuleBasedStateMachine, Generic[MachineT]):
    """A machine (`self.machine`) beside its model (`self.model`, set by the subclass)."""

    model: Sized

    def __init__(
        self,
        new_machine: Callable[[], MachineT],
        *,
        decode_op: Callable[[bytes], object],
        decode_result: Callable[[bytes], _Result],
        bad_command: str,
    ) -> None:
        super().__init__()
        self.machine = new_machine()
        self._new_machine = new_machine
        self._decode_op = decode_op
        self._decode_result = decode_result
        self._bad_command = bad_command

    @rule(data=st.binary(max_size=8))
    def garbage(self, data: bytes) -> None:
        try:
            self._decode_op(data)
        except ValueError:
            pass
        else:
            assume(False)  # random bytes that happen to be a valid op: not this rule's concern
        assert self._decode_result(self.machine.apply(data, CTX)).error == self._bad_command

    @rule()
    def restart_from_snapshot(self) -> None:
        restored = self._new_machine()
        restored.restore(self.machine.snapshot())
        self.machine = restored

    @invariant()
    def same_size(self) -> None:
        assert len(self.machine) == len(self.model)
