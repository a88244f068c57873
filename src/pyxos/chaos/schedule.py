"""The fault schedule of a chaos run: one seed expands into a list of faults, one at a time.

Every kind appears at least once (in a seeded order), then kinds are drawn at random until the
run's length is filled. Each step names its kind, whom it hits (the leader or a follower,
resolved when it starts) and how long it lasts; after each one the run heals everything and
waits until the cluster serves again, so steps never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random
from typing import Any, Literal, cast, get_args

StepKind = Literal["crash", "kill", "drop", "slow", "flaky", "partition", "pause", "crash_loop"]
STEP_KINDS: tuple[str, ...] = get_args(StepKind)
Target = Literal["leader", "follower"]

FAULT_S_MIN = 3.0
FAULT_S_MAX = 6.0
SETTLE_S = 4.0
"""Planned time between a heal and the next fault: the cluster serves again, the workload runs
undisturbed for a moment."""
SLOW_DELAY_MS = (20, 200)
FLAKY_P = (0.2, 0.6)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One fault: `kind` on the `target` node for `duration_s`."""

    kind: StepKind
    target: Target
    duration_s: float
    delay_ms: int = 0
    p: float = 0.0

    def describe(self) -> dict[str, Any]:
        view: dict[str, Any] = {
            "kind": self.kind,
            "target": self.target,
            "duration_s": self.duration_s,
        }
        if self.kind == "slow":
            view["delay_ms"] = self.delay_ms
        if self.kind == "flaky":
            view["p"] = self.p
        return view


def make_schedule(
    seed: int,
    duration_s: float,
    *,
    kinds: tuple[str, ...] = STEP_KINDS,
    fault_s_min: float = FAULT_S_MIN,
    fault_s_max: float = FAULT_S_MAX,
    settle_s: float = SETTLE_S,
) -> list[Step]:
    """The steps of a run of about `duration_s`: every kind in `kinds` at least once (so a
    short run may take longer than asked), then random kinds while they fit."""
    unknown = set(kinds) - set(STEP_KINDS)
    if unknown or not kinds:
        raise ValueError(f"fault kinds must be among {', '.join(STEP_KINDS)}")
    rng = Random(seed)
    order = list(kinds)
    rng.shuffle(order)
    steps: list[Step] = []
    used_s = 0.0
    while order or used_s + fault_s_max + settle_s <= duration_s:
        kind = order.pop(0) if order else rng.choice(kinds)
        step = _step(rng, kind, fault_s_min, fault_s_max)
        steps.append(step)
        used_s += step.duration_s + settle_s
    return steps


def _step(rng: Random, kind: str, fault_s_min: float, fault_s_max: float) -> Step:
    duration_s = round(rng.uniform(fault_s_min, fault_s_max), 1)
    target: Target = rng.choice(("leader", "follower"))
    return Step(
        kind=cast(StepKind, kind),  # one of STEP_KINDS, checked by the caller
        target=target,
        duration_s=duration_s,
        delay_ms=rng.randint(*SLOW_DELAY_MS) if kind == "slow" else 0,
        p=round(rng.uniform(*FLAKY_P), 2) if kind == "flaky" else 0.0,
    )
