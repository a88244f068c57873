"""The verdict of a chaos run: every check, and one PASS or FAIL with the reasons.

A run passes when the history is linearizable (0 anomalies), no acknowledged write is lost,
the nodes' committed logs agree slot by slot, every heal was followed by a committed write
within the deadline, and no node process died unless the run killed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyxos.check.linearizability import CheckResult


@dataclass(slots=True, kw_only=True)
class Verdict:
    seconds: float
    steps: int
    kinds: list[str]
    operations: int
    acked_writes: int
    unknown_writes: int
    linearizability: CheckResult
    lost_acks: list[str]
    log_report: str
    logs_ok: bool
    serve_times_s: list[float | None]
    serve_deadline_s: float
    node_failures: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        reasons = []
        if not self.linearizability.ok:
            what = "inconclusive" if self.linearizability.undecided else "not linearizable"
            reasons.append(f"history {what} (key {self.linearizability.failing_key!r})")
        if self.lost_acks:
            reasons.append(f"{len(self.lost_acks)} acknowledged writes lost")
        if not self.logs_ok:
            reasons.append("the nodes' logs disagree")
        slow = [
            i + 1
            for i, t in enumerate(self.serve_times_s)
            if t is None or t > self.serve_deadline_s
        ]
        if slow:
            reasons.append(
                f"heals {slow} were not followed by a committed write within "
                f"{self.serve_deadline_s:g} s"
            )
        reasons.extend(self.node_failures)
        return reasons

    @property
    def ok(self) -> bool:
        return not self.reasons

    def summary(self) -> dict[str, Any]:
        served = [t for t in self.serve_times_s if t is not None]
        return {
            "verdict": "PASS" if self.ok else "FAIL",
            "reasons": self.reasons,
            "seconds": round(self.seconds, 1),
            "steps": self.steps,
            "kinds": sorted(set(self.kinds)),
            "operations": self.operations,
            "acked_writes": self.acked_writes,
            "unknown_writes": self.unknown_writes,
            "anomalies": 0 if self.linearizability.ok else 1,
            "lost_acked_writes": len(self.lost_acks),
            "time_to_serve_s_max": round(max(served), 3) if served else None,
            "time_to_serve_s": [None if t is None else round(t, 3) for t in self.serve_times_s],
        }

    def render(self) -> str:
        s = self.summary()
        served = [t for t in self.serve_times_s if t is not None]
        lines = [
            f"ran {s['seconds']} s, {self.steps} faults ({', '.join(s['kinds'])})",
            f"operations: {self.operations}, acknowledged writes: {self.acked_writes}, "
            f"unknown outcomes: {self.unknown_writes}",
            "linearizability: " + self.linearizability.render().rstrip("\n"),
            f"lost acknowledged writes: {len(self.lost_acks)}"
            + (f" (e.g. {', '.join(self.lost_acks[:5])})" if self.lost_acks else ""),
            "log agreement: " + self.log_report.rstrip("\n"),
            "time to serve after each heal (s): "
            + ", ".join("never" if t is None else f"{t:.2f}" for t in self.serve_times_s)
            + (f" (max {max(served):.2f})" if served else ""),
        ]
        lines.extend(f"node failure: {f}" for f in self.node_failures)
        verdict = "PASS" if self.ok else "FAIL: " + "; ".join(self.reasons)
        lines.append(f"VERDICT: {verdict}")
        return "\n".join(lines) + "\n"
