"""Log agreement across nodes (GoPaxos' `make diff`): every slot that a node holds must hold
the same commands on every node that holds it, and be held by a majority of the members.

Pure: it compares the nodes' log prints (`GET /log/print/...`, one `{slot} {commands}` line per
slot, `UNKNOWN` for a slot the node lacks); fetching them is the caller's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

UNKNOWN = "UNKNOWN"
"""What a log print shows for a slot the node does not hold (compacted into a snapshot)."""
PROBLEMS_SHOWN_MAX = 50


def parse_log(text: str) -> dict[int, str | None]:
    """`{slot: commands}` of a node's log print (None for `UNKNOWN`). Raises `ValueError`
    naming the first line that is not `{slot} {text}`."""
    slots: dict[int, str | None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        head, _, rest = line.partition(" ")
        if not head.isdigit() or not rest:
            raise ValueError(f"line {number} is not '<slot> <commands>': {line[:80]!r}")
        slots[int(head)] = None if rest == UNKNOWN else rest
    return slots


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotProblem:
    slot: int
    kind: str  # "mismatch" (nodes hold different commands) or "no majority"
    held: dict[int, str]  # node -> what it holds at this slot (absent: nothing)


@dataclass(slots=True, kw_only=True)
class LogComparison:
    members: int
    nodes: tuple[int, ...]  # the nodes whose logs were compared
    first: int
    last: int
    problems: list[SlotProblem] = field(default_factory=list)
    unheld: int = 0  # slots in range that no node holds (compacted everywhere)

    @property
    def ok(self) -> bool:
        return not self.problems


def compare_logs(
    logs: Mapping[int, Mapping[int, str | None]], *, members: int, first: int = 1
) -> LogComparison:
    """Compare the logs of `logs` (node -> slot -> commands, None for a slot it lacks) slot by
    slot, from `first` to the highest slot any node holds. A slot passes when every node that
    holds it holds the same commands and at least a majority of `members` hold it."""
    majority = members // 2 + 1
    last = max((max(log, default=0) for log in logs.values()), default=0)
    result = LogComparison(members=members, nodes=tuple(sorted(logs)), first=first, last=last)
    for slot in range(first, last + 1):
        held = {node: text for node in result.nodes if (text := logs[node].get(slot)) is not None}
        if not held:
            result.unheld += 1
        elif len(set(held.values())) > 1:
            result.problems.append(SlotProblem(slot=slot, kind="mismatch", held=held))
        elif len(held) < majority:
            result.problems.append(SlotProblem(slot=slot, kind="no majority", held=held))
    return result


def _describe(problem: SlotProblem, nodes: tuple[int, ...]) -> str:
    groups: dict[str, list[int]] = {}
    for node in nodes:
        groups.setdefault(problem.held.get(node, "(nothing)"), []).append(node)
    parts = [
        f"{'nodes' if len(ids) > 1 else 'node'} {', '.join(map(str, ids))}: {text}"
        for text, ids in groups.items()
    ]
    return f"slot {problem.slot}: {problem.kind}: " + " | ".join(parts)


def render_comparison(result: LogComparison) -> str:
    nodes = ", ".join(map(str, result.nodes))
    lines = [f"compared slots {result.first}..{result.last} of nodes {nodes}"]
    if result.unheld:
        lines.append(f"{result.unheld} slots are held by no node (compacted): not compared")
    for problem in result.problems[:PROBLEMS_SHOWN_MAX]:
        lines.append(_describe(problem, result.nodes))
    if len(result.problems) > PROBLEMS_SHOWN_MAX:
        lines.append(f"... and {len(result.problems) - PROBLEMS_SHOWN_MAX} more")
    majority = result.members // 2 + 1
    if result.ok:
        lines.append(
            f"OK: every slot agrees on a majority ({majority} of {result.members} members)"
        )
    else:
        mismatched = sum(1 for p in result.problems if p.kind == "mismatch")
        lonely = len(result.problems) - mismatched
        lines.append(
            f"FAILED: {mismatched} slots differ between nodes, {lonely} slots are held by "
            f"fewer than {majority} of {result.members} members"
        )
    return "\n".join(lines) + "\n"


def check_log_prints(texts: Mapping[int, str], members: int) -> tuple[bool, str]:
    """`compare_logs` over the nodes' log prints, from the first slot every node holds (a
    restarted node's log starts at its latest snapshot)."""
    try:
        logs = {node: parse_log(text) for node, text in texts.items()}
    except ValueError as exc:
        return False, f"a node's log print does not parse: {exc}\n"
    if len(logs) < members:
        missing = sorted(set(range(1, members + 1)) - set(logs))
        return False, f"nodes {missing} did not print their log\n"
    first = max((min(log, default=1) for log in logs.values()), default=1)
    result = compare_logs(logs, members=members, first=first)
    return result.ok, render_comparison(result)
