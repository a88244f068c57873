"""Owning one object: stealing it with phase 1, then committing its commands with phase 2.

Theory of operation. A node takes an object with a ballot above every one it has seen for it:
it promises the ballot durably, then sends `Prepare(obj, ballot, from_slot)` to every member,
`from_slot` being its first undecided slot of the object. From a phase-1 quorum of promises
(with grid quorums: `fn + 1` nodes in each of `Z - fz` zones) it re-proposes, in every slot up
to the highest reported, the value accepted at the highest ballot (or a chosen value a promise
reports, or NOOP for a hole): whatever the previous owner may have had chosen survives the
steal. Then it proposes its commands, a batch per slot, at most `pipeline_slots_max` open at
once. A slot is decided by a phase-2 quorum of acceptances (with `fz = 0`: all but `fn` nodes of
one zone, so the owner's own zone decides at LAN latency). The owner counts which zones its
requests come from (`policy.py`) and invites another zone to steal the object when it is used
more there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection

from pyxos.core.clock import LeaderClock
from pyxos.core.commands import Batch, Command, batch_time
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot, NodeId, Slot
from pyxos.core.io import Effect, Note, Send
from pyxos.core.phases import Proposal, choose_value, stamped
from pyxos.core.quorum import QuorumSystem
from pyxos.core.wpaxos.messages import Accept, AcceptedEntry, Prepare, Promise
from pyxos.core.wpaxos.objects import ObjectLog
from pyxos.core.wpaxos.policy import Policy


def phase1_complete(quorums: QuorumSystem, promised: Collection[NodeId]) -> bool:
    """Phase 1 is complete when a phase-1 quorum promised: only then does the lead know every
    value a phase-2 quorum may have chosen under a lower ballot. (A module-level rule so that a
    test can plant a steal that skips it.)"""
    return quorums.is_q1(promised)


class Lead:
    """This replica's claim on one object: phase 1 until `prepared`, then phase 2."""

    __slots__ = (
        "_clock",
        "_config",
        "ballot",
        "commit_again_tick",
        "commit_every",
        "committed_sent",
        "forwarders",
        "from_slot",
        "log",
        "next_slot",
        "pending",
        "policy",
        "prepare_sent_tick",
        "prepared",
        "promises",
        "proposals",
        "reported",
        "taking_from",
    )

    def __init__(
        self,
        config: ReplicaConfig,
        log: ObjectLog,
        *,
        ballot: Ballot,
        tick: int,
        clock: LeaderClock,
        policy: Policy,
        taking_from: NodeId | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self.log = log
        self.ballot = ballot
        self.policy = policy
        self.taking_from = taking_from  # the owner this lead steals the object from, if any
        # How far each member has learned the object's log, as its last acceptance said.
        self.reported: dict[NodeId, Slot] = {}
        # Commits sent again to members that have not said they learned them: when, and how
        # long to wait before the next time (doubling, so a member that is down costs little).
        self.commit_again_tick = tick
        self.commit_every = config.heartbeat_ticks
        self.from_slot = log.decided_upto + 1
        self.promises: dict[NodeId, Promise] = {}
        self.prepared = False
        self.prepare_sent_tick = tick
        self.proposals: dict[Slot, Proposal] = {}
        self.next_slot: Slot = self.from_slot
        self.pending: deque[Command] = deque()
        self.committed_sent: Slot = 0
        # The last node of each zone that forwarded us requests: whom to hand the object to.
        self.forwarders: dict[int, NodeId] = {}

    # ---- phase 1 ------------------------------------------------------------------------
    def prepare_messages(self, to: tuple[NodeId, ...]) -> list[Effect]:
        msg = Prepare(obj=self.log.key, ballot=self.ballot, from_slot=self.from_slot)
        return [Send(to=peer, message=msg) for peer in to]

    def on_promise(self, sender: NodeId, msg: Promise, tick: int) -> list[Effect]:
        if self.prepared or msg.ballot != self.ballot or msg.from_slot != self.from_slot:
            return []
        self.promises[sender] = msg
        if not phase1_complete(self._config.quorums, self.promises.keys()):
            return []
        return self._complete_phase1(tick)

    def _complete_phase1(self, tick: int) -> list[Effect]:
        self.prepared = True
        by_slot: dict[Slot, list[AcceptedEntry]] = {}
        chosen: dict[Slot, Batch] = {}
        for sender in sorted(self.promises):
            promise = self.promises[sender]
            for entry in promise.accepted:
                by_slot.setdefault(entry.slot, []).append(entry)
                self._clock.see(batch_time(entry.batch))
            for decided in promise.decided:
                chosen[decided.slot] = decided.batch
                self._clock.see(batch_time(decided.batch))
        top = max(max(by_slot, default=0), max(chosen, default=0), self.from_slot - 1)
        self._clock.start_term()
        taken = self.taking_from
        effects: list[Effect] = [
            Note(kind="acquire", detail=f"object={self.log.key!r} ballot={self.ballot}")
            if taken is None
            else Note(
                kind="steal", detail=f"object={self.log.key!r} ballot={self.ballot} from={taken}"
            )
        ]
        learned = self.log.decided
        for slot in range(self.from_slot, top + 1):
            if slot in learned:
                batch = learned[slot]
            elif slot in chosen:
                batch = chosen[slot]
            else:
                batch = choose_value(by_slot.get(slot, []))
                if batch:
                    # After a steal: what the deposed owner had accepted is kept.
                    kind = "repropose" if taken is None else "repropose_after_steal"
                    effects.append(Note(kind=kind, detail=f"slot={slot}"))
            effects.extend(self._propose(slot, batch, tick))
        self.next_slot = top + 1
        self.promises = {}
        effects.extend(self.fill(tick))
        return effects

    # ---- phase 2 ------------------------------------------------------------------------
    def _propose(self, slot: Slot, batch: Batch, tick: int) -> list[Effect]:
        self.proposals[slot] = Proposal(batch, tick)
        msg = Accept(
            obj=self.log.key,
            ballot=self.ballot,
            slot=slot,
            batch=batch,
            commit_upto=self.log.decided_upto,
        )
        return [Send(to=peer, message=msg) for peer in self._config.members]

    def enqueue(self, commands: tuple[Command, ...]) -> bool:
        """Queue client commands; False if the queue is full (the client retries)."""
        if len(self.pending) + len(commands) > self._config.pending_commands_max:
            return False
        self.pending.extend(commands)
        return True

    def fill(self, tick: int) -> list[Effect]:
        """Open slots for queued commands while the pipeline window has room."""
        if not self.prepared:
            return []
        effects: list[Effect] = []
        pending = self.pending
        limit = self._config.batch_commands_max
        while pending and len(self.proposals) < self._config.pipeline_slots_max:
            taken = [pending.popleft() for _ in range(min(limit, len(pending)))]
            batch = stamped(tuple(taken), self._clock.stamp())
            slot = self.next_slot
            self.next_slot += 1
            effects.extend(self._propose(slot, batch, tick))
        return effects

    def stable_upto(self) -> Slot:
        """The slot up to which every member has learned the log, as far as their acceptances
        told (0 until every member has answered)."""
        reported = self.reported
        members = self._config.members
        if len(reported) < len(members):
            return 0
        return min(reported[m] for m in members)

    def on_learned(self, sender: NodeId, decided_upto: Slot) -> None:
        """`sender` has learned the log up to `decided_upto`."""
        if decided_upto > self.reported.get(sender, -1):
            self.reported[sender] = decided_upto

    def laggards(self) -> list[NodeId]:
        """The peers that have not said they learned everything this lead committed."""
        upto = self.committed_sent
        me = self._config.node_id
        return [m for m in self._config.members if m != me and self.reported.get(m, 0) < upto]

    def on_accepted(self, sender: NodeId, slot: Slot, decided_upto: Slot) -> Batch | None:
        """Count an acceptance; the batch if the slot just became decided."""
        self.on_learned(sender, decided_upto)
        proposal = self.proposals.get(slot)
        if proposal is None:
            return None
        proposal.acks.add(sender)
        if not self._config.quorums.is_q2(proposal.acks):
            return None
        del self.proposals[slot]
        return proposal.batch

    def proposed(self, slot: Slot) -> Batch | None:
        """What this lead proposed in `slot` and has not seen decided, if anything."""
        proposal = self.proposals.get(slot)
        return None if proposal is None else proposal.batch

    def retransmit(self, tick: int) -> list[Effect]:
        """Send again what a quorum has not answered yet."""
        every = self._config.retransmit_ticks
        members = self._config.members
        if not self.prepared:
            if tick - self.prepare_sent_tick < every:
                return []
            self.prepare_sent_tick = tick
            return self.prepare_messages(tuple(m for m in members if m not in self.promises))
        effects: list[Effect] = []
        for slot in sorted(self.proposals):
            proposal = self.proposals[slot]
            if tick - proposal.sent_tick < every:
                continue
            proposal.sent_tick = tick
            msg = Accept(
                obj=self.log.key,
                ballot=self.ballot,
                slot=slot,
                batch=proposal.batch,
                commit_upto=self.log.decided_upto,
            )
            effects.extend(Send(to=p, message=msg) for p in members if p not in proposal.acks)
        return effects
