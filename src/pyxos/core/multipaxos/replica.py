"""A Multi-Paxos replica: `step(input) -> effects`, nothing else.

Theory of operation (Paxos for System Builders, with its missing pieces filled in). The roles
are leaf objects, each in its own module: the acceptor (`acceptor.py`: promises and acceptances,
durable before they are announced), the learner (`learner.py`: decided values, delivered in slot
order), the leader of a view (`leader.py`: phase 1 once, then pipelined, batched phase 2 and read
indexes), the elections (`views.py`: views, timers, pre-vote), catch-up (`catchup.py`) and, after
a lost disk, rejoin (`rejoin.py`). This module owns them, routes each input to the role it
concerns, acts on what the elections and rejoin decide, and ends every step the same way: the
commit point for followers, catch-up requests for missing slots, decided values to persist, and
delivery in slot order.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import assert_never, cast

from pyxos.core.clock import LeaderClock
from pyxos.core.commands import Batch, Command, batch_time
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot, NodeId, Slot
from pyxos.core.io import (
    Compact,
    DurableRecord,
    Effect,
    Flush,
    Input,
    Note,
    PeerMessage,
    Persist,
    Propose,
    ReadIndexReady,
    Receive,
    RequestReadIndex,
    RestoreSnapshot,
    SaveSnapshot,
    Send,
    Tick,
)
from pyxos.core.multipaxos import rejoin as rejoin_rules
from pyxos.core.multipaxos.acceptor import Acceptor
from pyxos.core.multipaxos.catchup import CatchUp
from pyxos.core.multipaxos.leader import Leader
from pyxos.core.multipaxos.learner import Learner
from pyxos.core.multipaxos.messages import (
    MESSAGE_CLASSES,
    Accept,
    Accepted,
    CatchupReply,
    CatchupRequest,
    Commit,
    DecidedEntry,
    Forward,
    Heartbeat,
    HeartbeatAck,
    Message,
    Prepare,
    PreViewAck,
    PreViewChange,
    Promise,
    ReadIndexReply,
    ReadIndexRequest,
    Reject,
    RejoinInfo,
    RejoinQuery,
    SnapshotTransfer,
    ViewChange,
)
from pyxos.core.multipaxos.records import RECORD_CLASSES, AcceptedValue, DecidedValue, Record
from pyxos.core.multipaxos.views import Elections, view_ballot, view_owner
from pyxos.core.protocol import (
    ROLE_CANDIDATE,
    ROLE_FOLLOWER,
    ROLE_LEADER,
    ROLE_REJOINING,
    ObjectOf,
    ProtocolStatus,
)
from pyxos.core.snapshot import Snapshot

PROTOCOL_NAME = "multipaxos"
_OURS = frozenset(MESSAGE_CLASSES)


class Replica:
    """One replica of the replicated log. Drive it with `step`; it never does I/O."""

    def __init__(
        self,
        config: ReplicaConfig,
        rng: Random,
        *,
        durable: Sequence[DurableRecord] = (),
        snapshot: Snapshot | None = None,
        rejoining: bool = False,
        log_time_ms: int = 0,
        objects: ObjectOf | None = None,
    ) -> None:
        """`rejoining=True` for a replica rebuilt after losing its disk (see `rejoin.py`).
        `objects` is not needed: one log orders every command."""
        del objects
        self.config = config
        self._node_id = config.node_id
        records: list[Record] = []
        for record in durable:
            if not isinstance(record, RECORD_CLASSES):
                raise TypeError(f"node {config.node_id}: not a Multi-Paxos record: {record!r}")
            records.append(record)
        self.acceptor = Acceptor(config.node_id)
        self.learner = Learner()
        self.acceptor.recover(records, snapshot)
        self.learner.recover(records, snapshot.slot if snapshot is not None else 0)
        self.clock = LeaderClock(config.tick_ms * config.log_time_step_ticks_max)
        self.clock.see(log_time_ms)
        if snapshot is not None:
            self.clock.see(snapshot.time_ms)
        for record in records:
            if isinstance(record, AcceptedValue | DecidedValue):
                self.clock.see(batch_time(record.batch))
        # The latest snapshot, served to peers that ask for slots compacted away.
        self.snapshot = snapshot
        self.elections = Elections(config, rng, self.acceptor.promised.round)
        self.catchup = CatchUp(config, rng)
        self.leader: Leader | None = None
        self.tick = 0
        self._decided_records: list[Record] = []
        self.rejoin: rejoin_rules.Rejoin | None = rejoin_rules.Rejoin() if rejoining else None
        # Gathered during a turn, sent at the flush (see `Flush`).
        self._to_forward: list[Command] = []
        self._read_indexes: list[int] = []

    # ---- the contract's read-only view ---------------------------------------------------------
    @property
    def node_id(self) -> NodeId:
        return self._node_id

    @property
    def promised(self) -> Ballot:
        return self.acceptor.promised

    @property
    def is_leader(self) -> bool:
        return self.leader is not None and self.leader.prepared

    @property
    def log_time_ms(self) -> int:
        return self.clock.peek()

    def leads(self, obj: bytes) -> bool:
        del obj  # one log: the leader leads everything
        return self.is_leader

    @property
    def view(self) -> int:
        return self.elections.view

    def status(self) -> ProtocolStatus:
        leader = self.leader
        if self.is_leader:
            role, follows = ROLE_LEADER, self._node_id
        elif leader is not None:
            role, follows = ROLE_CANDIDATE, None
        else:
            role = ROLE_REJOINING if self.rejoin is not None else ROLE_FOLLOWER
            follows = self.elections.owner if self.elections.churn == 0 else None
        lag = {}
        if leader is not None and leader.prepared:
            lag = leader.lag()
        return ProtocolStatus(
            protocol=PROTOCOL_NAME,
            role=role,
            leader=follows,
            view=self.elections.view,
            promised=self.acceptor.promised,
            decided_upto=self.learner.decided_upto,
            delivered_upto=self.learner.delivered_upto,
            lag=lag,
        )

    # ---- the one entry point ----------------------------------------------------------------
    def step(self, inp: Input) -> list[Effect]:
        flush = False
        match inp:
            case Tick(now_ms=now_ms):
                self.clock.advance(now_ms)
                effects = self._on_tick()
                flush = True
            case Receive(sender=sender, message=message):
                if type(message) in _OURS:
                    effects = self._on_message(sender, cast(Message, message))
                else:
                    effects = []  # not ours: the codec should have refused it already
            case Propose(commands=commands):
                effects = self._on_propose(commands)
            case RequestReadIndex(request_ids=request_ids):
                effects = self._on_read_index(request_ids)
            case Flush():
                effects = []
                flush = True
            case Compact(slot=slot, state=state, time_ms=time_ms):
                # Nothing else to do: the node calls this while it applies a delivery.
                return self._compact(slot, state, time_ms)
            case _:
                assert_never(inp)
        if flush:
            self._flush(effects)
        self._end_of_step(effects)
        return effects

    # ---- views and timers -------------------------------------------------------------------
    def _enter_view(self, view: int) -> list[Effect]:
        if not self.elections.enter(view, self.tick):
            return []
        self.leader = None
        return self._lead(view)

    def _lead(self, view: int) -> list[Effect]:
        """Start phase 1 for `view` if we own it and never used its ballot."""
        members = self.config.members
        if view_owner(members, view) != self._node_id or self.rejoin is not None:
            return []
        ballot = view_ballot(members, view)
        if ballot <= self.acceptor.promised:
            return []  # we led this ballot before a restart: never reuse it
        self.leader = Leader(self.config, self.learner, ballot, self.tick, self.clock)
        return [
            self.acceptor.promise_own(ballot),
            *self.leader.prepare_messages(members),
        ]

    def _observe(self, ballot: Ballot) -> list[Effect]:
        return self._enter_view(ballot.round) if ballot.round > self.elections.view else []

    def _on_tick(self) -> list[Effect]:
        self.tick += 1
        tick = self.tick
        elections = self.elections
        rejoin = self.rejoin
        if rejoin is not None and rejoin.query_due(tick, self.config.retransmit_ticks):
            # Ask until every peer has answered (see rejoin.py).
            return [Send(to=p, message=RejoinQuery()) for p in self.config.peers]
        if tick == 1 and elections.view == 0 and self.leader is None:
            # A fresh cluster: the owner of view 0 may lead at once, without a timeout.
            return self._lead(0)
        leader = self.leader
        effects: list[Effect] = []
        if leader is not None:
            effects = leader.retransmit(tick)
            if leader.prepared:
                effects.extend(leader.heartbeat(tick, force=False))
                return effects
            if not elections.expired(tick):
                return effects
        elif not elections.expired(tick):
            if elections.remind_due(tick):
                # No leader yet in this view: remind its owner, whose ViewChange may be lost.
                owner = elections.owner
                if owner != self._node_id:
                    return [Send(to=owner, message=ViewChange(view=elections.view))]
            return []
        # The election timeout expired.
        view = elections.time_out(tick)
        if rejoin is not None and rejoin.floor is not None:
            # Rejoining needs a leader above the floor; the leader everyone hears may sit at the
            # floor for ever and would refuse a pre-vote, so move on as rejoin.py asks.
            effects.extend(self._change_view(view))
            return effects
        # Ask first (see prevote.py); the next attempt waits for the next timeout.
        pre_vote = elections.ask(view, self._node_id)
        if self.config.quorums.is_q1(pre_vote.supporters):
            effects.extend(self._change_view(view))  # a cluster of one
            return effects
        effects.append(Note(kind="pre_vote", detail=f"view={view}"))
        effects.extend(Send(to=p, message=PreViewChange(view=view)) for p in self.config.peers)
        return effects

    def _change_view(self, view: int) -> list[Effect]:
        """Move to `view` and say so."""
        effects: list[Effect] = [Note(kind="view_change", detail=f"view={view}")]
        effects.extend(Send(to=p, message=ViewChange(view=view)) for p in self.config.peers)
        effects.extend(self._enter_view(view))
        return effects

    # ---- messages -----------------------------------------------------------------------------
    def _on_message(self, sender: NodeId, msg: Message) -> list[Effect]:
        rejoin = self.rejoin
        if rejoin is not None:
            verdict = rejoin.screen(sender, msg, self.learner.decided_upto, self.config.peers)
            if not isinstance(verdict, rejoin_rules.Handle):
                return self._while_rejoining(sender, msg, verdict)
        match msg:
            case Accept():
                return self._on_accept(sender, msg)
            case Accepted():
                return self._on_accepted(sender, msg)
            case Commit(ballot=ballot, upto=upto):
                effects = self._observe(ballot)
                self._learn_commit(ballot, upto)
                return effects
            case Heartbeat():
                return self._on_heartbeat(sender, msg)
            case HeartbeatAck(ballot=ballot, read_round=read_round, decided_upto=decided_upto):
                leader = self.leader
                if leader is not None and ballot == leader.ballot:
                    return leader.on_heartbeat_ack(sender, read_round, decided_upto, self.tick)
                return []
            case Prepare(ballot=ballot):
                effects = self._observe(ballot)
                if ballot.round == self.elections.view:
                    self.elections.heard_view(self.tick)
                learner = self.learner
                prepare = self.acceptor.on_prepare(
                    sender, msg, learner.decided_upto, learner.decided
                )
                effects.extend(prepare)
                return effects
            case Promise(ballot=ballot):
                leader = self.leader
                if leader is not None and ballot == leader.ballot:
                    effects = leader.on_promise(sender, msg, self.tick)
                    if leader.prepared:
                        self.elections.progress(self.tick)
                    return effects
                return []
            case Reject(ballot=ballot, promised=promised):
                leader = self.leader
                if leader is not None and ballot == leader.ballot and promised > ballot:
                    return self._enter_view(promised.round)
                return []
            case ViewChange(view=view):
                return self._enter_view(view)
            case PreViewChange(view=view):
                granted = self.elections.supports(view, self.tick, self.is_leader)
                ack = PreViewAck(view=view, granted=granted)
                return [Send(to=sender, message=ack)]  # and nothing else changes
            case PreViewAck(view=view, granted=granted):
                if self.elections.supported(sender, view, granted):
                    return self._change_view(view)
                return []
            case Forward(commands=commands):
                leader = self.leader
                if leader is not None:
                    leader.enqueue(commands)  # proposed at the next flush
                return []  # not the leader (or full): the client retries elsewhere
            case CatchupRequest(from_slot=from_slot, upto=upto):
                return self.catchup.serve(sender, from_slot, upto, self.learner, self.snapshot)
            case SnapshotTransfer():
                return self._install_snapshot(sender, msg)
            case CatchupReply(entries=entries):
                return self._learn_entries(sender, entries)
            case ReadIndexRequest(request_ids=request_ids):
                leader = self.leader
                if leader is not None and leader.prepared:
                    leader.add_read(sender, request_ids)
                return []
            case ReadIndexReply(request_ids=request_ids, index=index):
                return [ReadIndexReady(request_ids=request_ids, index=index)]
            case RejoinQuery():
                return [Send(to=sender, message=self._rejoin_info())]
            case RejoinInfo():
                return []  # not rejoining (any more)
            case _:
                assert_never(msg)

    def _on_accept(self, sender: NodeId, msg: Accept) -> list[Effect]:
        effects = self._observe(msg.ballot)
        effects.extend(self.acceptor.on_accept(sender, msg))
        if msg.ballot == self.acceptor.promised:
            if sender != self._node_id:
                self.elections.progress(self.tick)
            self._learn_commit(msg.ballot, msg.commit_upto)
        return effects

    def _on_accepted(self, sender: NodeId, msg: Accepted) -> list[Effect]:
        leader = self.leader
        if leader is None or msg.ballot != leader.ballot:
            return []
        proposal = leader.on_accepted(sender, msg.slot, self.tick)
        if proposal is None:
            return []
        self._learn(msg.slot, proposal.batch)  # the window opened: filled at the next flush
        if not self.config.thrifty:
            return []
        # Thrifty: tell the members that did not accept it what was chosen (see leader.py).
        value = CatchupReply(entries=(DecidedEntry(slot=msg.slot, batch=proposal.batch),))
        return [Send(to=p, message=value) for p in self.config.peers if p not in proposal.acks]

    def _on_heartbeat(self, sender: NodeId, msg: Heartbeat) -> list[Effect]:
        effects = self._observe(msg.ballot)
        if msg.ballot < self.acceptor.promised:
            reject = Reject(ballot=msg.ballot, promised=self.acceptor.promised)
            effects.append(Send(to=sender, message=reject))
            return effects
        if msg.ballot.round == self.elections.view:
            self.elections.progress(self.tick)
        self._learn_commit(msg.ballot, msg.commit_upto)
        ack = HeartbeatAck(
            ballot=msg.ballot, read_round=msg.read_round, decided_upto=self.learner.decided_upto
        )
        effects.append(Send(to=sender, message=ack))
        return effects

    # ---- rejoining after losing the disk ----------------------------------------------------
    def _while_rejoining(
        self, sender: NodeId, msg: Message, verdict: rejoin_rules.Verdict
    ) -> list[Effect]:
        match verdict:
            case rejoin_rules.Drop():
                return []
            case rejoin_rules.Answer():
                return [Send(to=sender, message=self._rejoin_info())]
            case rejoin_rules.FloorKnown(floor=floor, slot_floor=slot_floor):
                # Learn every slot a forgotten vote could be in (catch-up starts now).
                learner = self.learner
                learner.commit_hint = max(learner.commit_hint, slot_floor)
                # The leader we hear may well lead at `floor` itself and never change: ask for
                # a new view, whose leader will prepare above the floor and release us.
                view = max(self.elections.view, floor.round) + 1
                return [
                    *self.acceptor.promise_floor(floor),
                    Note(kind="rejoin_floor", detail=f"floor={floor}"),
                    *(Send(to=p, message=ViewChange(view=view)) for p in self.config.peers),
                    *self._enter_view(view),
                ]
            case rejoin_rules.Released(ballot=ballot):
                self.rejoin = None
                effects: list[Effect] = [Note(kind="rejoined", detail=f"ballot={ballot}")]
                effects.extend(self._on_message(sender, msg))
                return effects
            case rejoin_rules.Follow(ballot=ballot, commit_upto=upto):
                # Follow the leader and learn, but cast no vote.
                effects = self._observe(ballot)
                if ballot.round == self.elections.view:
                    self.elections.heard_leader(self.tick)
                self.learner.commit_hint = max(self.learner.commit_hint, upto)
                return effects
            case rejoin_rules.Observe(ballot=ballot):
                effects = self._observe(ballot)
                self.elections.heard_view(self.tick)
                return effects
            case rejoin_rules.Handle():
                return self._on_message(sender, msg)
            case _:
                assert_never(verdict)

    def _rejoin_info(self) -> RejoinInfo:
        learner = self.learner
        learned = max(learner.commit_hint, learner.decided_upto)
        if self.leader is not None:
            learned = max(learned, self.leader.next_slot - 1)
        acceptor = self.acceptor
        return rejoin_rules.rejoin_info(
            acceptor.promised,
            max(acceptor.accepted, default=0),
            acceptor.compacted_upto,
            learned,
        )

    # ---- client input -------------------------------------------------------------------------
    def _on_propose(self, commands: tuple[Command, ...]) -> list[Effect]:
        leader = self.leader
        if leader is not None:
            if leader.enqueue(commands):
                return []  # proposed at the next flush, with whatever else arrives this turn
            return [Note(kind="overload", detail=f"dropped={len(commands)}")]
        if self.elections.owner == self._node_id:
            return []  # between views: the client retries
        if len(self._to_forward) + len(commands) <= self.config.pending_commands_max:
            self._to_forward.extend(commands)
        return []

    def _on_read_index(self, request_ids: tuple[int, ...]) -> list[Effect]:
        leader = self.leader
        if leader is not None:
            if not leader.prepared:
                return []
            leader.add_read(self._node_id, request_ids)
            return leader.confirm_reads()
        if self.elections.owner == self._node_id:
            return []
        self._read_indexes.extend(request_ids)
        return []

    def _flush(self, effects: list[Effect]) -> None:
        """The end of the driver's turn: propose, announce and forward what this turn gathered."""
        leader = self.leader
        if leader is not None and leader.prepared:
            effects.extend(leader.fill(self.tick))
            learner = self.learner
            if learner.decided_upto > leader.committed_sent:
                leader.committed_sent = learner.decided_upto
                commit = Commit(ballot=leader.ballot, upto=learner.decided_upto)
                effects.extend(Send(to=p, message=commit) for p in self.config.peers)
            if leader.read_round_wanted:
                effects.extend(leader.heartbeat(self.tick, force=True))
        owner = self.elections.owner
        if self._to_forward:
            if leader is None and owner != self._node_id:
                forward = Forward(commands=tuple(self._to_forward))
                effects.append(Send(to=owner, message=forward))
            self._to_forward = []  # a leader of our own now: the clients retry
        if self._read_indexes:
            if leader is None and owner != self._node_id:
                ask = ReadIndexRequest(request_ids=tuple(self._read_indexes))
                effects.append(Send(to=owner, message=ask))
            self._read_indexes = []

    # ---- snapshots ----------------------------------------------------------------------------
    def _compact(self, slot: Slot, state: bytes, time_ms: int) -> list[Effect]:
        """The node captured its state at `slot`: forget the log it covers and serve the
        snapshot to peers behind it."""
        if slot > self.learner.delivered_upto:
            raise AssertionError(
                f"node {self._node_id}: snapshot at slot {slot} is ahead of delivery "
                f"({self.learner.delivered_upto})"
            )
        snapshot = Snapshot(
            slot=slot, promised=self.acceptor.promised, state=state, time_ms=time_ms
        )
        self.snapshot = snapshot
        self.acceptor.compact(slot)
        self.learner.compact(slot)
        return [SaveSnapshot(snapshot=snapshot)]

    def _install_snapshot(self, sender: NodeId, msg: SnapshotTransfer) -> list[Effect]:
        """A peer's snapshot replaces every slot up to its slot (unless we already have them)."""
        if msg.slot <= self.learner.decided_upto:
            return []  # we already have everything it covers
        effects: list[Effect] = []
        leader = self.leader
        if leader is not None and leader.prepared and msg.slot >= leader.from_slot:
            # Others decided slots this leader's phase 2 owns: it was deposed (see _deposed_by).
            self.leader = None
            effects.append(Note(kind="deposed", detail=f"slot={msg.slot} learned from {sender}"))
        snapshot = Snapshot(
            slot=msg.slot, promised=self.acceptor.promised, state=msg.state, time_ms=msg.time_ms
        )
        self.snapshot = snapshot
        self.clock.see(msg.time_ms)
        self.acceptor.compact(msg.slot)
        self.learner.install(msg.slot)
        effects += [
            RestoreSnapshot(snapshot=snapshot),
            SaveSnapshot(snapshot=snapshot),
            Note(kind="snapshot_installed", detail=f"slot={msg.slot} from={sender}"),
        ]
        return effects

    # ---- learning -----------------------------------------------------------------------------
    def _learn(self, slot: Slot, batch: Batch) -> bool:
        record = self.learner.learn(slot, batch)
        if record is None:
            return False
        self.clock.see(batch_time(batch))
        self._decided_records.append(record)
        return True

    def _learn_entries(self, sender: NodeId, entries: tuple[DecidedEntry, ...]) -> list[Effect]:
        """Learn the decided values of a `CatchupReply`."""
        effects = self._deposed_by(sender, entries)
        learned = sum(1 for entry in entries if self._learn(entry.slot, entry.batch))
        if learned:
            effects.append(Note(kind="catchup", detail=f"slots={learned} from={sender}"))
        return effects

    def _deposed_by(self, sender: NodeId, entries: tuple[DecidedEntry, ...]) -> list[Effect]:
        """A leader that learns from a peer a value it did not propose, in a slot of its own
        phase 2, has been deposed by a higher ballot it never heard of (a catch-up reply carries
        no ballot): it stops leading. Its `Commit` at its old ballot would otherwise make the
        followers that accepted its own value there decide it (simulator seed 701)."""
        leader = self.leader
        if leader is None or not leader.prepared:
            return []
        for entry in entries:
            slot = entry.slot
            if slot < leader.from_slot or slot in self.learner.decided:
                continue
            proposal = leader.proposals.get(slot)
            if slot >= leader.next_slot or (proposal is not None and proposal.batch != entry.batch):
                self.leader = None
                return [Note(kind="deposed", detail=f"slot={slot} learned from {sender}")]
        return []

    def _learn_commit(self, ballot: Ballot, upto: Slot) -> None:
        """Slots up to `upto` are decided; those we accepted at `ballot` hold the chosen value."""
        learner = self.learner
        learner.commit_hint = max(learner.commit_hint, upto)
        accepted_at = self.acceptor.accepted_at
        for slot in range(learner.decided_upto + 1, upto + 1):
            if slot not in learner.decided:
                batch = accepted_at(slot, ballot)
                if batch is not None:
                    self._learn(slot, batch)

    def _end_of_step(self, effects: list[Effect]) -> None:
        learner = self.learner
        if self.catchup.due(self.tick, learner):
            effects.append(self.catchup.request(self.tick, learner, self.elections.owner))
        if self._decided_records:
            effects.append(Persist(records=tuple(self._decided_records), barrier=False))
            self._decided_records = []
        if learner.delivered_upto < learner.decided_upto:
            effects.extend(learner.deliver())


__all__ = ["PROTOCOL_NAME", "PeerMessage", "Replica"]
