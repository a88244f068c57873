"""The `Persist` gate: effects after a barrier wait until the log is durable up to it."""

from __future__ import annotations

from pyxos.exec.gate import EffectGate


def test_effects_pass_until_a_barrier_then_wait_and_leave_in_order() -> None:
    gate: EffectGate[str] = EffectGate()
    assert gate.offer("a")
    gate.barrier(3)
    assert not gate.offer("b")
    gate.barrier(5)
    assert not gate.offer("c")
    assert not gate.offer("d")
    assert gate.release(2) == []  # durable below the first barrier: nothing moves
    assert gate.release(3) == ["b"]
    assert gate.release(5) == ["c", "d"]
    assert gate.offer("e")


def test_one_sync_may_pass_many_barriers() -> None:
    gate: EffectGate[str] = EffectGate()
    gate.barrier(1)
    gate.offer("x")
    gate.barrier(2)
    gate.offer("y")
    assert gate.release(9) == ["x", "y"]
    assert len(gate) == 0


def test_clear_drops_what_waits_and_counts_only_effects() -> None:
    gate: EffectGate[str] = EffectGate()
    gate.barrier(1)
    gate.offer("x")
    assert gate.clear() == 1
    assert gate.release(1) == []
    assert len(gate) == 0
