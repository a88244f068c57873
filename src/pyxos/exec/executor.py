"""`EffectExecutor`: a node's effects, executed in order, the same way in the runtime and the
simulator.

Theory of operation. The node returns an ordered list of effects per step; the executor runs
them in that order:

- `Send` and `Reply` go out through the gate (`gate.py`): at once if nothing is pending, else
  queued behind the barrier they follow, even across later steps;
- `Persist(records)` hands the records to the group-commit writer (`writer.py`); a barrier
  `Persist` also puts a marker in the gate and asks for a round;
- `SaveSnapshot` goes to the writer too, in order with the records around it;
- `Applied`, `Restored` and `Note` are observations of the node's memory and go to the driver's
  `observe` at once.

After each list it starts a write round if the writer has one and none is in flight; the driver
runs it (`start_round`) and calls `round_done` when the disk made it durable, which releases
the effects the gate held for it and starts the next round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import assert_never

from pyxos.exec.gate import EffectGate
from pyxos.exec.writer import GroupCommit, WriteRound
from pyxos.node.io import (
    Applied,
    NodeEffect,
    Note,
    Persist,
    Reply,
    Restored,
    SaveSnapshot,
    Send,
)

Emitted = Send | Reply
Observed = Applied | Restored | Note


class EffectExecutor:
    """Executes one node's effects: `execute(effects)`, then `round_done(round)` per round."""

    __slots__ = ("_emit", "_observe", "_start_round", "gate", "writer")

    def __init__(
        self,
        *,
        emit: Callable[[Emitted], None],
        observe: Callable[[Observed], None],
        start_round: Callable[[WriteRound], None],
    ) -> None:
        """`emit` sends a message or a reply now; `observe` takes an observation; `start_round`
        begins writing a round on the disk, whose completion the driver reports with
        `round_done`."""
        self._emit = emit
        self._observe = observe
        self._start_round = start_round
        self.gate: EffectGate[Emitted] = EffectGate()
        self.writer = GroupCommit()

    def execute(self, effects: Sequence[NodeEffect]) -> None:
        """Run `effects` in order (see the module docstring)."""
        gate, writer = self.gate, self.writer
        wrote = False
        for effect in effects:
            match effect:
                case Send() | Reply():
                    if gate.offer(effect):
                        self._emit(effect)
                case Persist(records=records, barrier=barrier):
                    position = writer.append(records, barrier=barrier)
                    if position is not None:
                        gate.barrier(position)
                    wrote = True
                case SaveSnapshot(snapshot=snapshot):
                    writer.save_snapshot(snapshot)
                    wrote = True
                case Applied() | Restored() | Note():
                    self._observe(effect)
                case _:
                    assert_never(effect)
        if wrote:
            self.kick()

    def kick(self) -> None:
        """Start a write round if one is wanted and none is in flight."""
        if self.writer.in_flight is None:
            round_ = self.writer.take_round()
            if round_ is not None:
                self._start_round(round_)

    def want_all(self) -> None:
        """Make everything handed over durable soon, barrier or not (called every tick)."""
        self.writer.want_all()
        self.kick()

    def round_done(self, round_: WriteRound) -> None:
        """The disk made `round_` durable: release what waited for it, start the next round."""
        durable = self.writer.finish(round_)
        for effect in self.gate.release(durable):
            self._emit(effect)
        self.kick()

    def stop(self) -> int:
        """Drop every effect still waiting in the gate (the node stops or crashed); returns how
        many were dropped."""
        return self.gate.clear()
