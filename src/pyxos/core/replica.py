"""A Multi-Paxos replica: `step(input) -> effects`, nothing else.

Theory of operation (Paxos for System Builders, with its missing pieces filled in). Replicas move
through views; view v is led by `config.owner(v)` with ballot (v, owner). A follower that hears
nothing from its view's leader for an election timeout asks its peers whether they would follow
it into the next view (`PreViewChange`, see `prevote.py`); once a phase-1 quorum would, it moves
there and tells everyone (`ViewChange`). A replica that sees a higher view in any message joins
it. The timeout doubles with every timeout that brings no progress (capped) and resets once a
leader is heard, so a cluster under churn settles on one leader instead of duelling.

The acceptor (`acceptor.py`), learner (`learner.py`) and leader (`leader.py`) hold the state;
this module routes inputs to them, runs the timers and adds what every step ends with: the
commit point for followers, catch-up requests for missing slots, and delivery in slot order.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import assert_never

from pyxos.core import catchup
from pyxos.core.acceptor import Acceptor
from pyxos.core.clock import LeaderClock
from pyxos.core.commands import Command, batch_time
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot, NodeId, Slot
from pyxos.core.io import (
    Effect,
    Flush,
    Input,
    Note,
    Persist,
    Propose,
    ReadIndexReady,
    Receive,
    RequestReadIndex,
    Send,
    Tick,
)
from pyxos.core.leader import Leader
from pyxos.core.learner import Learner
from pyxos.core.messages import (
    Accept,
    Accepted,
    CatchupReply,
    CatchupRequest,
    Commit,
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
from pyxos.core.prevote import PreVote
from pyxos.core.records import AcceptedValue, DecidedValue, Record, Snapshot
from pyxos.core.rejoin import Rejoin, rejoin_info, while_rejoining


class Replica:
    """One replica of the replicated log. Drive it with `step`; it never does I/O."""

    def __init__(
        self,
        config: ReplicaConfig,
        rng: Random,
        durable: Sequence[Record] = (),
        snapshot: Snapshot | None = None,
        rejoining: bool = False,
    ) -> None:
        """`rejoining=True` for a replica rebuilt after losing its disk (see `rejoin.py`)."""
        self.config = config
        self.node_id = config.node_id
        self._rng = rng
        self.acceptor = Acceptor(config.node_id)
        self.learner = Learner()
        records = list(durable)
        self.acceptor.recover(records, snapshot)
        self.learner.recover(records, snapshot.slot if snapshot is not None else 0)
        self.clock = LeaderClock()
        for record in records:
            if isinstance(record, AcceptedValue | DecidedValue):
                self.clock.see(batch_time(record.batch))
        # The latest snapshot, served to peers that ask for slots compacted away.
        self.snapshot = snapshot
        self.view = self.acceptor.promised.round
        self.leader: Leader | None = None
        self.tick = 0
        self.now_ms = 0
        self.heard_tick = 0  # last tick we heard from our view's leader (or entered the view)
        # Last tick we heard an established leader we follow (a start counts, so a restarted
        # replica does not help a stale peer depose a leader it has not heard from yet).
        self.leader_tick = 0
        self.pre_vote: PreVote | None = None  # the view we ask support for, if any
        self.churn = 0  # election timeouts since the last established leader
        self.timeout_ticks = self._draw_timeout()
        self.catchup_tick = -config.retransmit_ticks
        self.catchup_attempts = 0
        self.view_change_tick = 0
        self._decided_records: list[Record] = []
        self.rejoin: Rejoin | None = Rejoin() if rejoining else None
        # Gathered during a turn, sent at the flush (see `Flush`).
        self._to_forward: list[Command] = []
        self._read_indexes: list[int] = []

    # ---- public view ------------------------------------------------------------------------
    @property
    def promised(self) -> Ballot:
        return self.acceptor.promised

    @property
    def is_leader(self) -> bool:
        return self.leader is not None and self.leader.prepared

    @property
    def leader_hint(self) -> NodeId:
        """The node this replica believes leads (the owner of its view)."""
        return self.config.owner(self.view)

    @property
    def decided_upto(self) -> Slot:
        return self.learner.decided_upto

    # ---- the one entry point ----------------------------------------------------------------
    def step(self, inp: Input) -> list[Effect]:
        flush = False
        match inp:
            case Tick(now_ms=now_ms):
                self.now_ms = self.clock.now_ms = now_ms
                effects = self._on_tick()
                flush = True
            case Receive(sender=sender, message=message):
                effects = self._on_message(sender, message)
            case Propose(commands=commands):
                effects = self._on_propose(commands)
            case RequestReadIndex(request_ids=request_ids):
                effects = self._on_read_index(request_ids)
            case Flush():
                effects = []
                flush = True
            case _:
                assert_never(inp)
        if flush:
            self._flush(effects)
        self._end_of_step(effects)
        return effects

    # ---- views and timers -------------------------------------------------------------------
    def _draw_timeout(self) -> int:
        c = self.config
        base = min(
            c.election_timeout_ticks_max, c.election_timeout_ticks_min << min(self.churn, 16)
        )
        return base + self._rng.randint(0, c.election_timeout_ticks_jitter)

    def heard_leader(self) -> None:
        """We heard an established leader we follow: no election is needed."""
        self.heard_tick = self.leader_tick = self.tick
        self.pre_vote = None

    def _progress(self) -> None:
        """We heard from an established leader of our view."""
        self.heard_leader()
        if self.churn:
            self.churn = 0
            self.timeout_ticks = self._draw_timeout()

    def _enter_view(self, view: int) -> list[Effect]:
        if view <= self.view:
            return []
        self.view = view
        self.leader = None
        self.pre_vote = None
        self.heard_tick = self.tick
        self.view_change_tick = self.tick
        return self._lead(view)

    def _lead(self, view: int) -> list[Effect]:
        """Start phase 1 for `view` if we own it and never used its ballot."""
        if self.config.owner(view) != self.node_id or self.rejoin is not None:
            return []
        ballot = self.config.ballot(view)
        if ballot <= self.acceptor.promised:
            return []  # we led this ballot before a restart: never reuse it
        self.leader = Leader(self.config, self.learner, ballot, self.tick, self.clock)
        return [
            self.acceptor.promise_own(ballot),
            *self.leader.prepare_messages(self.config.members),
        ]

    def _observe(self, ballot: Ballot) -> list[Effect]:
        return self._enter_view(ballot.round) if ballot.round > self.view else []

    def _on_tick(self) -> list[Effect]:
        self.tick += 1
        tick = self.tick
        rejoin = self.rejoin
        retransmit = self.config.retransmit_ticks
        if rejoin is not None and rejoin.floor is None and tick - rejoin.query_tick >= retransmit:
            # Ask until every peer has answered (see rejoin.py).
            rejoin.query_tick = tick
            return [Send(to=p, message=RejoinQuery()) for p in self.config.peers]
        if tick == 1 and self.view == 0 and self.leader is None:
            # A fresh cluster: the owner of view 0 may lead at once, without a timeout.
            return self._lead(0)
        leader = self.leader
        if leader is not None:
            effects = leader.retransmit(tick)
            if leader.prepared:
                effects.extend(leader.heartbeat(tick, force=False))
                return effects
            if tick - self.heard_tick < self.timeout_ticks:
                return effects
        elif tick - self.heard_tick < self.timeout_ticks:
            if tick - self.view_change_tick >= self.config.retransmit_ticks and self.churn:
                # No leader yet in this view: remind its owner, whose ViewChange may be lost.
                self.view_change_tick = tick
                owner = self.config.owner(self.view)
                if owner != self.node_id:
                    return [Send(to=owner, message=ViewChange(view=self.view))]
            return []
        else:
            effects = []
        # The election timeout expired.
        self.churn += 1
        self.timeout_ticks = self._draw_timeout()
        view = self.view + 1
        rejoin = self.rejoin
        if rejoin is not None and rejoin.floor is not None:
            # Rejoining needs a leader above the floor; the leader everyone hears may sit at the
            # floor for ever and would refuse a pre-vote, so move on as rejoin.py asks.
            effects.extend(self._change_view(view))
            return effects
        # Ask first (see prevote.py); the next attempt waits for the next timeout.
        self.heard_tick = tick
        pre_vote = self.pre_vote = PreVote(view, self.node_id)
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

    def _supports(self, view: int) -> bool:
        """Would we follow a peer into `view`? Only if it is ahead of ours and we would time out
        too: no established leader heard for the shortest election timeout, and not leading."""
        if view <= self.view or self.is_leader:
            return False
        return self.tick - self.leader_tick >= self.config.election_timeout_ticks_min

    def _on_pre_view_ack(self, sender: NodeId, view: int, granted: bool) -> list[Effect]:
        pre_vote = self.pre_vote
        if pre_vote is None or not granted or view != pre_vote.view:
            return []  # refused, stale or duplicated
        if not pre_vote.support(sender, self.config.quorums):
            return []
        return self._change_view(view)

    # ---- messages -----------------------------------------------------------------------------
    def _on_message(self, sender: NodeId, msg: Message) -> list[Effect]:
        if self.rejoin is not None:
            muted = while_rejoining(self, sender, msg)
            if muted is not None:
                return muted
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
                    return leader.on_heartbeat_ack(sender, read_round, decided_upto)
                return []
            case Prepare(ballot=ballot):
                effects = self._observe(ballot)
                if ballot.round == self.view:
                    self.heard_tick = self.tick
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
                        self._progress()
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
                ack = PreViewAck(view=view, granted=self._supports(view))
                return [Send(to=sender, message=ack)]  # and nothing else changes
            case PreViewAck(view=view, granted=granted):
                return self._on_pre_view_ack(sender, view, granted)
            case Forward(commands=commands):
                leader = self.leader
                if leader is not None:
                    leader.enqueue(commands)  # proposed at the next flush
                return []  # not the leader (or full): the client retries elsewhere
            case CatchupRequest(from_slot=from_slot, upto=upto):
                return catchup.serve(self, sender, from_slot, upto)
            case SnapshotTransfer(slot=slot, state=state):
                return catchup.install_snapshot(self, sender, slot, state)
            case CatchupReply(entries=entries):
                return catchup.learn_entries(self, sender, entries)
            case ReadIndexRequest(request_ids=request_ids):
                leader = self.leader
                if leader is not None and leader.prepared:
                    leader.add_read(sender, request_ids)
                return []
            case ReadIndexReply(request_ids=request_ids, index=index):
                return [ReadIndexReady(request_ids=request_ids, index=index)]
            case RejoinQuery():
                return [Send(to=sender, message=rejoin_info(self))]
            case RejoinInfo():
                return []  # not rejoining (any more)
            case _:
                assert_never(msg)

    def _on_accept(self, sender: NodeId, msg: Accept) -> list[Effect]:
        effects = self._observe(msg.ballot)
        effects.extend(self.acceptor.on_accept(sender, msg))
        if msg.ballot == self.acceptor.promised:
            if sender != self.node_id:
                self._progress()
            self._learn_commit(msg.ballot, msg.commit_upto)
        return effects

    def _on_accepted(self, sender: NodeId, msg: Accepted) -> list[Effect]:
        leader = self.leader
        if leader is None or msg.ballot != leader.ballot:
            return []
        batch = leader.on_accepted(sender, msg.slot)
        if batch is not None:
            self._learn(msg.slot, batch)  # the window opened: filled at the next flush
        return []

    def _on_heartbeat(self, sender: NodeId, msg: Heartbeat) -> list[Effect]:
        effects = self._observe(msg.ballot)
        if msg.ballot < self.acceptor.promised:
            reject = Reject(ballot=msg.ballot, promised=self.acceptor.promised)
            effects.append(Send(to=sender, message=reject))
            return effects
        if msg.ballot.round == self.view:
            self._progress()
        self._learn_commit(msg.ballot, msg.commit_upto)
        ack = HeartbeatAck(
            ballot=msg.ballot, read_round=msg.read_round, decided_upto=self.learner.decided_upto
        )
        effects.append(Send(to=sender, message=ack))
        return effects

    # ---- rejoining after losing the disk --------------------------------------------------------
    # ---- client input -------------------------------------------------------------------------
    def _on_propose(self, commands: tuple[Command, ...]) -> list[Effect]:
        leader = self.leader
        if leader is not None:
            if leader.enqueue(commands):
                return []  # proposed at the next flush, with whatever else arrives this turn
            return [Note(kind="overload", detail=f"dropped={len(commands)}")]
        if self.config.owner(self.view) == self.node_id:
            return []  # between views: the client retries
        if len(self._to_forward) + len(commands) <= self.config.pending_commands_max:
            self._to_forward.extend(commands)
        return []

    def _on_read_index(self, request_ids: tuple[int, ...]) -> list[Effect]:
        leader = self.leader
        if leader is not None:
            if not leader.prepared:
                return []
            leader.add_read(self.node_id, request_ids)
            return leader.confirm_reads()
        if self.config.owner(self.view) == self.node_id:
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
        owner = self.config.owner(self.view)
        if self._to_forward:
            if leader is None and owner != self.node_id:
                forward = Forward(commands=tuple(self._to_forward))
                effects.append(Send(to=owner, message=forward))
            self._to_forward = []  # a leader of our own now: the clients retry
        if self._read_indexes:
            if leader is None and owner != self.node_id:
                ask = ReadIndexRequest(request_ids=tuple(self._read_indexes))
                effects.append(Send(to=owner, message=ask))
            self._read_indexes = []

    # ---- snapshots ----------------------------------------------------------------------------
    def compact(self, snapshot: Snapshot) -> None:
        """The node took `snapshot`: forget the log it covers and serve it to peers behind it."""
        if snapshot.slot > self.learner.delivered_upto:
            raise AssertionError(
                f"node {self.node_id}: snapshot at slot {snapshot.slot} is ahead of delivery "
                f"({self.learner.delivered_upto})"
            )
        self.snapshot = snapshot
        self.acceptor.compact(snapshot.slot)
        self.learner.compact(snapshot.slot)

    # ---- learning -----------------------------------------------------------------------------
    def _learn(self, slot: Slot, batch: tuple[Command, ...]) -> bool:
        record = self.learner.learn(slot, batch)
        if record is None:
            return False
        self.clock.see(batch_time(batch))
        self._decided_records.append(record)
        return True

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
        if learner.missing() and self.tick - self.catchup_tick >= self.config.retransmit_ticks:
            effects.append(catchup.request(self))
        if self._decided_records:
            effects.append(Persist(records=tuple(self._decided_records), barrier=False))
            self._decided_records = []
        if learner.delivered_upto < learner.decided_upto:
            effects.extend(learner.deliver())
