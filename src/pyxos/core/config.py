"""Replica configuration: membership, quorums and the protocols' timers, in ticks.

Timers count ticks, not milliseconds, so the core never needs a clock: the driver feeds
`Tick(now_ms)` every `tick_ms` and the replica counts. Names carry their unit last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyxos.core.ids import NodeId
from pyxos.core.quorum import Majority, QuorumSystem


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaConfig:
    """Everything a replica needs to know that does not change while it runs."""

    node_id: NodeId
    members: tuple[NodeId, ...]
    quorum: QuorumSystem | None = None
    tick_ms: int = 10
    # A leader sends a heartbeat (carrying its commit point) this often when idle.
    heartbeat_ticks: int = 5
    # A follower that hears nothing from a leader for this long starts a view change. The
    # timeout doubles with every view change that brings no progress (up to `_max`), so that a
    # cluster under churn settles, and a random jitter of up to `_jitter` separates peers.
    election_timeout_ticks_min: int = 30
    election_timeout_ticks_max: int = 240
    election_timeout_ticks_jitter: int = 10
    # Unacknowledged Prepare/Accept/catch-up requests are sent again after this long.
    retransmit_ticks: int = 10
    # At most this many proposed-but-undecided slots (the pipeline window).
    pipeline_slots_max: int = 32
    # At most this many commands in one slot (a batch).
    batch_commands_max: int = 256
    # A batch stops growing once its commands hold this many bytes of ops (a single larger
    # command still goes alone), so an `Accept` stays far below the peer frame limit.
    batch_bytes_max: int = 1 << 20
    # Commands waiting for the pipeline to open; more are refused (the client retries).
    pending_commands_max: int = 10_000
    # A catch-up reply carries at most this many decided slots, and stops adding slots once
    # it holds this many bytes of ops (it always carries at least one).
    catchup_slots_max: int = 64
    catchup_bytes_max: int = 8 << 20
    # The node snapshots its state machine every this many applied slots and the log below the
    # snapshot is compacted away (0: never, the log grows without bound).
    snapshot_every_slots: int = 10_000
    # Paxi's thrifty option: phase 2 goes to a smallest phase-2 quorum first, the other members
    # only on retransmission (see `multipaxos/leader.py`).
    thrifty: bool = False
    # Log time moves by at most this many ticks' worth per tick, whatever the driver's clock
    # says (see `clock.py`): a clock that jumps cannot end a lease early.
    log_time_step_ticks_max: int = 4
    # Settings of the protocol the replica runs, by name (e.g. WPaxos' migration `policy`);
    # a protocol reads the ones it knows (see `option`).
    options: tuple[tuple[str, str], ...] = ()
    _quorum: QuorumSystem = field(init=False, repr=False)
    _peers: tuple[NodeId, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        members = tuple(sorted(self.members))
        if self.node_id not in members:
            raise ValueError(f"node {self.node_id} is not a member of {members}")
        if len(set(members)) != len(members):
            raise ValueError(f"duplicate member ids in {members}")
        if any(m <= 0 for m in members):
            raise ValueError(f"member ids must be positive integers: {members}")
        for name in (
            "tick_ms",
            "heartbeat_ticks",
            "election_timeout_ticks_min",
            "retransmit_ticks",
            "pipeline_slots_max",
            "batch_commands_max",
            "batch_bytes_max",
            "catchup_slots_max",
            "catchup_bytes_max",
            "log_time_step_ticks_max",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.snapshot_every_slots < 0:
            raise ValueError("snapshot_every_slots must not be negative")
        if self.election_timeout_ticks_max < self.election_timeout_ticks_min:
            raise ValueError("election_timeout_ticks_max < election_timeout_ticks_min")
        if self.heartbeat_ticks * 2 > self.election_timeout_ticks_min:
            raise ValueError("heartbeat_ticks must be at most half of election_timeout_ticks_min")
        object.__setattr__(self, "members", members)
        quorum = self.quorum if self.quorum is not None else Majority(members)
        if tuple(quorum.members) != members:
            raise ValueError("the quorum system's members differ from the replica's members")
        object.__setattr__(self, "_quorum", quorum)
        # Asked for on every send to all: computed once, not a tuple per call.
        object.__setattr__(self, "_peers", tuple(m for m in members if m != self.node_id))

    @property
    def quorums(self) -> QuorumSystem:
        return self._quorum

    def option(self, name: str, default: str) -> str:
        """The protocol setting `name`, or `default`."""
        return dict(self.options).get(name, default)

    @property
    def peers(self) -> tuple[NodeId, ...]:
        return self._peers
