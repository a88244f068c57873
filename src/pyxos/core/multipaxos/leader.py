"""The leader of one view: phase 1 once for the whole log, then pipelined, batched phase 2.

Theory of operation. The owner of view v leads with ballot (v, owner). It promises its own
ballot durably, then sends `Prepare(ballot, from_slot)` where `from_slot` is the first slot it
has not learned. From a phase-1 quorum of `Promise`s it takes, for every slot from `from_slot` to
the highest slot reported, the value accepted at the highest ballot (a chosen value is always
that one), or NOOP for a hole, and proposes them all again at its own ballot. Then it proposes
client commands: each slot carries a batch of commands, and at most `pipeline_slots_max` slots
are open at once. A slot is decided when a phase-2 quorum accepted it. Linearizable reads get a
read index (the last proposed slot) that is confirmed by a phase-2 quorum of heartbeat acks sent
after the read arrived, so no higher ballot can have chosen anything the read would miss.

Thrifty phase 2 (Paxi's `thrifty` option). With `config.thrifty` a new `Accept` goes only to a
smallest phase-2 quorum that includes the leader: itself, then the peers heard from most
recently (in id order among equals), so a node that went silent drops out of the first send.
The others get it only if the quorum does not answer in time: a retransmission goes to every
member that has not acknowledged. Once the slot is decided, the replica sends its value to every
member that did not accept it, as a catch-up reply, so they learn it without asking. Fewer
acceptances to sync and count in the steady state; a retransmission's delay when a chosen
acceptor is slow.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from pyxos.core.clock import LeaderClock
from pyxos.core.commands import Batch, Command, batch_time
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot, NodeId, Slot
from pyxos.core.io import Effect, Note, ReadIndexReady, Send
from pyxos.core.multipaxos.learner import Learner
from pyxos.core.multipaxos.messages import (
    Accept,
    AcceptedEntry,
    Heartbeat,
    Prepare,
    Promise,
    ReadIndexReply,
)
from pyxos.core.phases import Proposal, choose_value, stamped


class PendingRead:
    __slots__ = ("asker", "index", "request_ids", "round")

    def __init__(self, asker: NodeId, request_ids: tuple[int, ...], index: Slot, rnd: int) -> None:
        self.asker = asker
        self.request_ids = request_ids
        self.index = index
        self.round = rnd


class Leader:
    """Phase-1 and phase-2 state of this replica while it owns a view."""

    def __init__(
        self,
        config: ReplicaConfig,
        learner: Learner,
        ballot: Ballot,
        tick: int,
        clock: LeaderClock,
    ) -> None:
        self.config = config
        self.clock = clock
        self.learner = learner
        self.ballot = ballot
        self.from_slot = learner.decided_upto + 1
        self.promises: dict[NodeId, Promise] = {}
        self.prepared = False  # phase 1 complete
        self.prepare_sent_tick = tick
        self.proposals: dict[Slot, Proposal] = {}
        self.next_slot: Slot = self.from_slot
        self.pending: deque[Command] = deque()
        self.heartbeat_tick = tick
        self.read_round = 0
        self.read_round_wanted = False
        self.read_acks: dict[NodeId, int] = {}
        self.peer_decided: dict[NodeId, Slot] = {}  # from heartbeat acks, for `lag`
        self.reads: list[PendingRead] = []
        self.committed_sent: Slot = 0
        # The tick each peer last answered us (Accepted, HeartbeatAck), for thrifty sends.
        self.heard: dict[NodeId, int] = {}

    # ---- phase 1 ------------------------------------------------------------------------
    def prepare_messages(self, to: Iterable[NodeId]) -> list[Effect]:
        msg = Prepare(ballot=self.ballot, from_slot=self.from_slot)
        return [Send(to=peer, message=msg) for peer in to]

    def on_promise(self, sender: NodeId, msg: Promise, tick: int) -> list[Effect]:
        if self.prepared or msg.ballot != self.ballot or msg.from_slot != self.from_slot:
            return []
        self.promises[sender] = msg
        if not self.config.quorums.is_q1(self.promises.keys()):
            return []
        return self._complete_phase1(tick)

    def _complete_phase1(self, tick: int) -> list[Effect]:
        self.prepared = True
        by_slot: dict[Slot, list[AcceptedEntry]] = {}
        # Slots an acceptor compacted into a snapshot are decided, and what it accepted there is
        # gone: proposing in them could replace a chosen value, so the leader starts above the
        # highest compaction point and catches up below it from a peer's snapshot.
        floor = self.from_slot - 1
        chosen: dict[Slot, Batch] = {}  # values an acceptor knows were chosen
        for sender in sorted(self.promises):
            promise = self.promises[sender]
            floor = max(floor, promise.compacted_upto)
            for entry in promise.accepted:
                by_slot.setdefault(entry.slot, []).append(entry)
                self.clock.see(batch_time(entry.batch))
            for decided in promise.decided:
                chosen[decided.slot] = decided.batch
                self.clock.see(batch_time(decided.batch))
        top = max(max(by_slot, default=0), max(chosen, default=0), floor)
        # Every stamp that could still be chosen is now seen: continue the log's time from it.
        self.clock.start_term()
        self.learner.commit_hint = max(self.learner.commit_hint, floor)
        effects: list[Effect] = [Note(kind="leader", detail=f"ballot={self.ballot}")]
        for slot in range(floor + 1, top + 1):
            if slot in self.learner.decided:
                batch = self.learner.decided[slot]
            elif slot in chosen:
                batch = chosen[slot]
            else:
                batch = choose_value(by_slot.get(slot, []))
                if batch:
                    effects.append(Note(kind="repropose", detail=f"slot={slot}"))
            effects.extend(self._propose(slot, batch, tick))
        self.next_slot = top + 1
        self.promises = {}
        effects.extend(self.fill(tick))
        return effects

    # ---- phase 2 ------------------------------------------------------------------------
    def _propose(self, slot: Slot, batch: Batch, tick: int) -> list[Effect]:
        self.proposals[slot] = Proposal(batch, tick)
        msg = Accept(
            ballot=self.ballot, slot=slot, batch=batch, commit_upto=self.learner.decided_upto
        )
        return [Send(to=peer, message=msg) for peer in self.accept_targets()]

    def accept_targets(self) -> tuple[NodeId, ...]:
        """Who gets a new `Accept`: every member, or with `thrifty` a smallest phase-2 quorum
        that includes us, the peers heard from most recently first."""
        config = self.config
        if not config.thrifty:
            return config.members
        heard = self.heard
        ranked = sorted(config.peers, key=lambda p: (-heard.get(p, -1), p))
        targets = [config.node_id]
        quorums = config.quorums
        for peer in ranked:
            if quorums.is_q2(targets):
                break
            targets.append(peer)
        return tuple(targets)

    def enqueue(self, commands: tuple[Command, ...]) -> bool:
        """Queue client commands; False if the queue is full (the client will retry)."""
        if len(self.pending) + len(commands) > self.config.pending_commands_max:
            return False
        self.pending.extend(commands)
        return True

    def fill(self, tick: int) -> list[Effect]:
        """Open slots for queued commands while the pipeline window has room."""
        if not self.prepared:
            return []
        effects: list[Effect] = []
        pending = self.pending
        while pending and len(self.proposals) < self.config.pipeline_slots_max:
            batch = stamped(self._take_batch(), self.clock.stamp())
            slot = self.next_slot
            self.next_slot += 1
            effects.extend(self._propose(slot, batch, tick))
        return effects

    def _take_batch(self) -> tuple[Command, ...]:
        """The next batch from the queue: up to `batch_commands_max` commands and
        `batch_bytes_max` bytes of ops (the first command always, whatever its size)."""
        pending = self.pending
        limit = self.config.batch_commands_max
        bytes_max = self.config.batch_bytes_max
        taken: list[Command] = []
        size = 0
        while pending and len(taken) < limit:
            size += len(pending[0].op)
            if taken and size > bytes_max:
                break
            taken.append(pending.popleft())
        return tuple(taken)

    def on_accepted(self, sender: NodeId, slot: Slot, tick: int) -> Proposal | None:
        """Count an acceptance; returns the proposal (its batch and who accepted it) if the
        slot just became decided."""
        self.heard[sender] = tick
        proposal = self.proposals.get(slot)
        if proposal is None:
            return None
        proposal.acks.add(sender)
        if not self.config.quorums.is_q2(proposal.acks):
            return None
        del self.proposals[slot]
        return proposal

    def retransmit(self, tick: int) -> list[Effect]:
        """Send again what a quorum has not answered yet."""
        every = self.config.retransmit_ticks
        effects: list[Effect] = []
        if not self.prepared:
            if tick - self.prepare_sent_tick >= every:
                self.prepare_sent_tick = tick
                silent = [m for m in self.config.members if m not in self.promises]
                effects.extend(self.prepare_messages(silent))
            return effects
        for slot in sorted(self.proposals):
            proposal = self.proposals[slot]
            if tick - proposal.sent_tick < every:
                continue
            proposal.sent_tick = tick
            msg = Accept(
                ballot=self.ballot,
                slot=slot,
                batch=proposal.batch,
                commit_upto=self.learner.decided_upto,
            )
            effects.extend(
                Send(to=peer, message=msg)
                for peer in self.config.members
                if peer not in proposal.acks
            )
        return effects

    # ---- heartbeats and read index --------------------------------------------------------
    def heartbeat(self, tick: int, force: bool) -> list[Effect]:
        """A heartbeat round when one is due, or when reads wait for a confirmation."""
        due = tick - self.heartbeat_tick >= self.config.heartbeat_ticks
        if not (due or force or self.read_round_wanted):
            return []
        self.heartbeat_tick = tick
        if self.read_round_wanted:
            self.read_round += 1
            self.read_round_wanted = False
        msg = Heartbeat(
            ballot=self.ballot, commit_upto=self.learner.decided_upto, read_round=self.read_round
        )
        self.committed_sent = self.learner.decided_upto
        return [Send(to=peer, message=msg) for peer in self.config.peers]

    def add_read(self, asker: NodeId, request_ids: tuple[int, ...]) -> None:
        """A read arrived: it needs a confirmation round that starts after now."""
        index = max(self.next_slot - 1, self.learner.decided_upto)
        self.read_round_wanted = True
        self.reads.append(PendingRead(asker, request_ids, index, self.read_round + 1))

    def on_heartbeat_ack(
        self, sender: NodeId, read_round: int, decided_upto: Slot, tick: int
    ) -> list[Effect]:
        self.heard[sender] = tick
        if read_round > self.read_acks.get(sender, 0):
            self.read_acks[sender] = read_round
        if decided_upto > self.peer_decided.get(sender, 0):
            self.peer_decided[sender] = decided_upto
        return self.confirm_reads()

    def lag(self) -> dict[NodeId, int]:
        """How many slots each peer's decided prefix is behind ours, as of its last heartbeat
        ack (a peer not heard from yet counts as having decided nothing)."""
        ours = self.learner.decided_upto
        return {peer: max(0, ours - self.peer_decided.get(peer, 0)) for peer in self.config.peers}

    def confirm_reads(self) -> list[Effect]:
        if not self.reads or not self.prepared:
            return []
        me = self.config.node_id
        effects: list[Effect] = []
        waiting = []
        for read in self.reads:
            acks = [me] + [p for p, r in self.read_acks.items() if r >= read.round]
            if not self.config.quorums.is_q2(acks):
                waiting.append(read)
            elif read.asker == me:
                effects.append(ReadIndexReady(request_ids=read.request_ids, index=read.index))
            else:
                reply = ReadIndexReply(request_ids=read.request_ids, index=read.index)
                effects.append(Send(to=read.asker, message=reply))
        self.reads = waiting
        return effects
