"""The end-of-run checks: liveness after the heal, and the history's linearizability.

Run once the event loop stops. Liveness: every operation still pending when the convergence
deadline passed, and nodes that do not agree on their applied prefix (or do not cover every
chosen slot), are violations. Linearizability is decided by `pyxos.check`; its report (a
minimal counterexample) is returned alongside the violation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pyxos.check.history import Operation
from pyxos.check.linearizability import check_history


def liveness_violations(
    now_us: int,
    pending: Iterable[Operation],
    applied_upto: Mapping[int, int | None],
    max_chosen_slot: int,
) -> list[str]:
    """Violations for unanswered operations and unconverged nodes (`None`: the node is down)."""
    found = [
        f"liveness: t={now_us}us client {op.client} {op.kind} {op.key!r} invoked at "
        f"t={op.invoke}us still has no answer after the convergence deadline"
        for op in pending
    ]
    values = list(applied_upto.values())
    if len(set(values)) != 1 or any(a is None or a < max_chosen_slot for a in values):
        found.append(
            f"liveness: t={now_us}us nodes did not converge: applied upto {dict(applied_upto)}, "
            f"highest chosen slot {max_chosen_slot}"
        )
    return found


def linearizability_violations(history: list[Operation]) -> tuple[list[str], str | None]:
    """`([], None)` for a linearizable history, else the violation and the checker's report."""
    check = check_history(history)
    if check.ok:
        return [], None
    if check.undecided:
        message = f"linearizability: undecided for key {check.failing_key!r}"
    else:
        message = (
            f"linearizability: the history of key {check.failing_key!r} is not linearizable "
            f"({len(check.counterexample)} operations in the counterexample)"
        )
    return [message], check.render()
