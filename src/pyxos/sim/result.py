"""What one simulated run returns: violations, coverage, statistics, history, transcript."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyxos.check.history import Operation
from pyxos.check.objects import ObjectOp
from pyxos.core.protocols import DEFAULT_PROTOCOL, protocol_spec
from pyxos.core.quorum import MAJORITY, QuorumSpec
from pyxos.sim.options import FLOAT_OPTIONS, SimOptions, expand_options


def coverage_counters(protocol: str = DEFAULT_PROTOCOL) -> tuple[str, ...]:
    """The names of the coverage counters a sweep of `protocol` reports, in order."""
    return tuple(counter.name for counter in protocol_spec(protocol).coverage)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimStats:
    ops_issued: int
    ops_completed: int
    messages_sent: int
    messages_delivered: int
    messages_dropped: int
    messages_duplicated: int
    events: int
    steps: int
    fault_events: int
    records_synced: int
    records_lost: int
    duration_us: int
    notes: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        return (
            f"ops {self.ops_completed}/{self.ops_issued} messages {self.messages_delivered}/"
            f"{self.messages_sent} (dropped {self.messages_dropped}, duplicated "
            f"{self.messages_duplicated}) faults {self.fault_events} events {self.events} "
            f"virtual {self.duration_us / 1e6:.3f}s"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SimResult:
    seed: int
    options: SimOptions
    violations: list[str]
    coverage: dict[str, bool]
    stats: SimStats
    history: list[Operation]
    object_history: list[ObjectOp] = field(default_factory=list)
    """The coordination workload's operations (a lock, an election or queues), with log times."""
    counterexample: str | None = None
    """The linearizability checker's report when the history failed."""
    transcript: list[str] | None = None
    protocol: str = DEFAULT_PROTOCOL
    quorums: QuorumSpec = MAJORITY
    protocol_options: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def replay(self) -> str:
        """The command that reruns exactly this run."""
        return replay_command(
            self.options,
            protocol=self.protocol,
            quorums=self.quorums,
            protocol_options=self.protocol_options,
        )


def replay_command(
    options: SimOptions,
    *,
    protocol: str = DEFAULT_PROTOCOL,
    quorums: QuorumSpec = MAJORITY,
    protocol_options: tuple[tuple[str, str], ...] = (),
) -> str:
    """`pyxos sim --seed S` plus every option that differs from what the seed expands to, and
    the protocol and quorums unless they are the defaults."""
    parts = [f"pyxos sim --seed {options.seed}"]
    if protocol != DEFAULT_PROTOCOL:
        parts.append(f"--protocol {protocol}")
    if quorums != MAJORITY:
        parts.append(f"--quorums {quorums.describe()}")
    parts.extend(f"--protocol-option {name}={value}" for name, value in protocol_options)
    for name, value in options.overrides_from(expand_options(options.seed)).items():
        text = repr(float(value)) if name in FLOAT_OPTIONS else str(value)
        parts.append(f"--{name.replace('_', '-')} {text}")
    return " ".join(parts)
