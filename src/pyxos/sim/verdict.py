"""The end-of-run checks: liveness after the heal, and the history's linearizability.

Run once the event loop stops. Liveness: every operation still pending when the convergence
deadline passed, and nodes that do not agree on their applied prefix (or do not cover every
chosen slot), are violations. Linearizability is decided by `pyxos.check`; its report (a
minimal counterexample) is returned alongside the violation.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pyxos.check.history import Operation
from pyxos.check.linearizability import check_history
from pyxos.check.objects import ObjectOp, check_locks, check_queues, election_violations
from pyxos.core.commands import Batch, batch_time
from pyxos.core.ids import Slot
from pyxos.machines.router import CLOCK_OP
from pyxos.machines.sessions import NO_SESSION
from pyxos.sim.options import WORKLOAD_ELECTION, WORKLOAD_KV, WORKLOAD_QUEUE


def liveness_violations(
    now_us: int,
    pending: Iterable[Operation | ObjectOp],
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


@dataclass(frozen=True, slots=True, kw_only=True)
class LogTimes:
    """When each command of the agreed log reached the state machine, in log time.

    `commands` maps `(client_id, seq)` to the log time its first copy was applied at (later
    copies are answered from the session table and never reach the machine); `applied` lists
    the log time of every command that reached the machine, in log order; `clock_commands`
    counts the leader's clock commands among them.
    """

    commands: dict[tuple[int, int], int]
    applied: list[int]
    clock_commands: int


def log_times(log: Mapping[Slot, Batch]) -> LogTimes:
    """Replay the times of the agreed applied log as every node's `Node._apply` does: log time
    is the running maximum of the batches' stamps."""
    commands: dict[tuple[int, int], int] = {}
    applied: list[int] = []
    clocks = 0
    now = 0
    for slot in sorted(log):
        batch = log[slot]
        now = max(now, batch_time(batch))
        for command in batch:
            if command.client_id == NO_SESSION:
                applied.append(now)
                clocks += command.op == CLOCK_OP
            elif (command.client_id, command.seq) not in commands:
                commands[(command.client_id, command.seq)] = now
                applied.append(now)
    return LogTimes(commands=commands, applied=applied, clock_commands=clocks)


def object_violations(
    workload: int, ops: Sequence[ObjectOp], times: LogTimes
) -> tuple[list[str], str | None]:
    """The coordination workload's history checked against its model: `([], None)` if it is
    linearizable, else the violations and the checker's report."""
    if workload == WORKLOAD_KV:
        return [], None
    check = check_queues(ops) if workload == WORKLOAD_QUEUE else check_locks(ops, times.applied)
    found = election_violations(ops) if workload == WORKLOAD_ELECTION else []
    if check.ok:
        return found, None
    what = "undecided" if check.undecided else "not linearizable"
    found.insert(0, f"linearizability: the history of object {check.failing_key!r} is {what}")
    return found, check.render()


def exception_violation(now_us: int, exc: BaseException) -> str:
    """A run that raised (a node's invariant check, or a bug in the driver), as a violation: the
    exception and the last frames of its traceback."""
    frames = traceback.format_exception(exc)
    return f"t={now_us}us exception: {type(exc).__name__}: {exc}\n" + "".join(frames[-6:]).rstrip()
