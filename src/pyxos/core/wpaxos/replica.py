"""A WPaxos replica: a Paxos log per object, each owned by the node that last stole it.

Theory of operation (Ailidani, Charapko, Demirbas and Kosar, "WPaxos", IEEE TPDS 2019, with
Paxi's migration policies). Nodes sit in zones (`"zone.node"` ids; with grid quorums, the grid's
zones). Every object (a key, or one name for things that must stay in one order) has its own
log, ballots and owner. A command for an object this node owns goes to its owner's phase 2
(`lead.py`). For another object it is forwarded to the node this replica believes owns it (the
owner of the highest ballot it promised for the object), or, with no owner known, with the
`immediate` policy, or when the owner made no progress on a forwarded command for an election
timeout (it may be down), this node steals the object with phase 1. A lead that sees a higher
ballot for its object, or learns by catch-up a value it did not propose in its own slots (it
was deposed without hearing of it), gives the object up and forwards what it had queued to the
new owner. Two nodes that both want an object back off for a random time after a refusal, so
they do not duel for ever.

Each object's decided values are handed on in its own slot order; objects interleave in the
order they are decided (`ExecutionOrder.PER_OBJECT`). Reads go through the log as commands,
so a linearizable read of an object is one phase 2 at its owner.

Compaction: the node snapshots its state with each object's applied slot (`Compact`); the
replica forgets the values every member has learned (the owner learns how far each member has
come from its acceptances and announces the minimum in its commits), so no peer ever needs a
value a snapshot swallowed and no snapshot ever travels between nodes. A member that stays
down holds back the compaction of the objects written meanwhile, until it is back.

Not yet: rebuilding a node that lost its disk (refused at start).
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import assert_never, cast

from pyxos.core.clock import LeaderClock
from pyxos.core.commands import Batch, Command, batch_time
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import BALLOT_ZERO, Ballot, NodeId, Slot
from pyxos.core.io import (
    Compact,
    Deliver,
    DurableRecord,
    Effect,
    Flush,
    Input,
    Note,
    Persist,
    Propose,
    Receive,
    RequestReadIndex,
    SaveSnapshot,
    Send,
    Tick,
)
from pyxos.core.protocol import ROLE_FOLLOWER, ROLE_LEADER, ObjectOf, ProtocolStatus
from pyxos.core.quorum import Grid
from pyxos.core.snapshot import Snapshot
from pyxos.core.wpaxos.durable import cut_snapshot, rebuild
from pyxos.core.wpaxos.lead import Lead
from pyxos.core.wpaxos.messages import (
    MESSAGE_CLASSES,
    Accept,
    Accepted,
    CatchupReply,
    CatchupRequest,
    Commit,
    DecidedEntry,
    Forward,
    Handover,
    Learned,
    Message,
    Prepare,
    Promise,
    Reject,
)
from pyxos.core.wpaxos.objects import DURABLE_FIRST, ObjectLog
from pyxos.core.wpaxos.policy import DEFAULT_POLICY, parse_policy

PROTOCOL_NAME = "wpaxos"
_OURS = frozenset(MESSAGE_CLASSES)
FORWARD_HOPS_MAX = 1
"""A forward that reaches a node that is not the owner is passed on at most this often."""


def one_object(op: bytes) -> bytes:
    """Without a way to tell objects apart, every command is in one object."""
    del op
    return b""


def zones_of(config: ReplicaConfig) -> dict[NodeId, int]:
    """Each member's zone: its grid zone with grid quorums, else its `"zone.node"` zone."""
    quorums = config.quorums
    if isinstance(quorums, Grid):
        return {m: z for z, zone in enumerate(quorums.zones) for m in zone}
    return {m: m // 1000 for m in config.members}


class Replica:
    """One replica of every object's log. Drive it with `step`; it never does I/O."""

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
        if rejoining:
            raise ValueError(
                "wpaxos cannot rebuild a node that lost its disk yet: restore the node's data "
                'directory from a backup, or run the cluster with protocol = "multipaxos"'
            )
        if snapshot is not None and snapshot.slot and not snapshot.objects:
            raise ValueError("a snapshot without per-object cuts is not one of wpaxos'")
        self.config = config
        self._node_id = config.node_id
        self._rng = rng
        self._object_of = objects if objects is not None else one_object
        self._policy = parse_policy(config.option("policy", DEFAULT_POLICY))
        self._zones = zones_of(config)
        self._zone = self._zones[config.node_id]
        self.clock = LeaderClock(config.tick_ms * config.log_time_step_ticks_max)
        self.clock.see(log_time_ms)
        self.logs, seen_ms = rebuild(config.node_id, snapshot, durable)
        self.clock.see(seen_ms)
        self._leads: dict[bytes, Lead] = {}
        self.tick = 0
        # Batches handed on so far, every object together (a snapshot's slot counts them).
        self.position: Slot = snapshot.slot if snapshot is not None else 0
        self._rounds: dict[bytes, int] = {}  # the highest ballot round seen per object
        # Objects forwarded to an owner that has not made progress since: (tick, decided_upto)
        self._awaiting: dict[bytes, tuple[int, Slot]] = {}
        self._backoff: dict[bytes, int] = {}  # no steal of the object before this tick
        self._to_forward: dict[tuple[NodeId, bytes], list[Command]] = {}
        self._dirty: set[bytes] = set()  # leads with news since the last flush
        self._busy: set[bytes] = set()  # leads that may have something to retransmit
        self._lagging: set[bytes] = set()  # leads whose last commit some member may lack
        self._missing: set[bytes] = set()
        self._deliver: set[bytes] = set()
        self._decided_records: list[DurableRecord] = []
        self._learned_answers: list[tuple[NodeId, bytes, Ballot]] = []  # Learned to send
        self.counters = {
            "acquisitions": 0,
            "steals": 0,
            "forwards": 0,
            "handovers": 0,
            "deposed": 0,
        }
        for obj, log in self.logs.items():
            self._seen(obj, log.promised)
            if log.decided_upto > log.delivered_upto:
                self._deliver.add(obj)

    def _compact(
        self, slot: Slot, state: bytes, time_ms: int, applied: tuple[tuple[bytes, Slot], ...]
    ) -> list[Effect]:
        """The node captured its state through `applied` (per object): forget what every member
        has learned, and make the snapshot durable."""
        if slot > self.position:
            raise AssertionError(f"node {self._node_id}: snapshot at {slot} after {self.position}")
        snapshot, forgotten = cut_snapshot(
            self._node_id,
            self.logs,
            slot=slot,
            state=state,
            time_ms=time_ms,
            promised=self.promised,
            applied=applied,
        )
        effects: list[Effect] = [SaveSnapshot(snapshot=snapshot)]
        if forgotten:
            effects.append(Note(kind="compacted", detail=f"slot={slot} forgotten={forgotten}"))
        return effects

    # ---- the contract's read-only view ---------------------------------------------------------
    @property
    def node_id(self) -> NodeId:
        return self._node_id

    @property
    def promised(self) -> Ballot:
        return max((log.promised for log in self.logs.values()), default=BALLOT_ZERO)

    @property
    def is_leader(self) -> bool:
        return any(lead.prepared for lead in self._leads.values())

    @property
    def log_time_ms(self) -> int:
        return self.clock.peek()

    def leads(self, obj: bytes) -> bool:
        lead = self._leads.get(obj)
        return lead is not None and lead.prepared

    def status(self) -> ProtocolStatus:
        owned = sum(1 for lead in self._leads.values() if lead.prepared)
        return ProtocolStatus(
            protocol=PROTOCOL_NAME,
            role=ROLE_LEADER if owned else ROLE_FOLLOWER,
            leader=None,
            view=0,
            promised=self.promised,
            decided_upto=sum(log.decided_upto for log in self.logs.values()),
            delivered_upto=self.position,
            counters={"objects_owned": owned, "objects": len(self.logs), **self.counters},
        )

    # ---- the one entry point ----------------------------------------------------------------
    def step(self, inp: Input) -> list[Effect]:
        match inp:
            case Tick(now_ms=now_ms):
                self.clock.advance(now_ms)
                effects = self._on_tick()
                self._flush(effects)
            case Receive(sender=sender, message=message):
                if type(message) in _OURS:
                    effects = self._on_message(sender, cast(Message, message))
                else:
                    effects = []  # not ours: the codec should have refused it already
            case Propose(commands=commands):
                effects = self._on_propose(commands)
            case RequestReadIndex():
                effects = []  # reads go through the log (`reads_through_log`)
            case Flush():
                effects = []
                self._flush(effects)
            case Compact(slot=slot, state=state, time_ms=time_ms, objects=objects):
                return self._compact(slot, state, time_ms, objects)
            case _:
                assert_never(inp)
        self._end_of_step(effects)
        return effects

    # ---- objects ----------------------------------------------------------------------------
    def _log(self, obj: bytes) -> ObjectLog:
        log = self.logs.get(obj)
        if log is None:
            log = self.logs[obj] = ObjectLog(obj)
        return log

    def _seen(self, obj: bytes, ballot: Ballot) -> None:
        if ballot.round > self._rounds.get(obj, 0):
            self._rounds[obj] = ballot.round

    def _steal(self, obj: bytes, commands: tuple[Command, ...]) -> list[Effect]:
        """Take `obj` with phase 1 at a ballot above every one seen for it."""
        lead = self._leads.get(obj)
        if lead is not None:
            lead.enqueue(commands)
            return []
        log = self._log(obj)
        ballot = Ballot(max(self._rounds.get(obj, 0), log.promised.round) + 1, self._node_id)
        self._seen(obj, ballot)
        policy = self._policy.make(self._zone)
        # Taking an object another node owned is a steal; one nobody owned, an acquisition.
        owner = log.owner
        taking_from = owner if owner is not None and owner != self._node_id else None
        lead = self._leads[obj] = Lead(
            self.config,
            log,
            ballot=ballot,
            tick=self.tick,
            clock=self.clock,
            policy=policy,
            taking_from=taking_from,
        )
        lead.enqueue(commands)
        self._busy.add(obj)
        self._awaiting.pop(obj, None)
        self.counters["steals" if taking_from is not None else "acquisitions"] += 1
        return [log.promise_own(ballot), *lead.prepare_messages(self.config.members)]

    def _give_up(self, obj: bytes, owner: NodeId) -> list[Effect]:
        """Another node took `obj`: stop leading it, and pass what was queued to `owner`."""
        lead = self._leads.pop(obj, None)
        if lead is None:
            return []
        self.counters["deposed"] += 1
        if lead.pending and owner != self._node_id:
            self._queue_forward(owner, obj, tuple(lead.pending))
        return [Note(kind="deposed", detail=f"object={obj!r} by={owner}")]

    def _observe(self, obj: bytes, ballot: Ballot) -> list[Effect]:
        """A message of `obj` at `ballot`: a higher one than ours means another owner."""
        self._seen(obj, ballot)
        lead = self._leads.get(obj)
        if lead is not None and ballot > lead.ballot:
            return self._give_up(obj, ballot.node)
        return []

    def _queue_forward(self, owner: NodeId, obj: bytes, commands: tuple[Command, ...]) -> None:
        self._to_forward.setdefault((owner, obj), []).extend(commands)
        if obj not in self._awaiting:
            self._awaiting[obj] = (self.tick, self._log(obj).decided_upto)

    # ---- client input -------------------------------------------------------------------------
    def _on_propose(self, commands: tuple[Command, ...]) -> list[Effect]:
        by_object: dict[bytes, list[Command]] = {}
        for command in commands:
            by_object.setdefault(self._object_of(command.op), []).append(command)
        effects: list[Effect] = []
        for obj in sorted(by_object):
            effects.extend(self._submit(obj, tuple(by_object[obj])))
        return effects

    def _submit(self, obj: bytes, commands: tuple[Command, ...]) -> list[Effect]:
        lead = self._leads.get(obj)
        if lead is not None:
            if not lead.enqueue(commands):
                return [Note(kind="overload", detail=f"dropped={len(commands)}")]
            self._dirty.add(obj)
            if lead.prepared:
                lead.policy.hit(self._zone, self.tick)  # our own clients keep it here
            return []
        owner = self._log(obj).owner
        if owner is None or owner == self._node_id or self._policy.steals_at_once:
            if self.tick < self._backoff.get(obj, 0) and owner not in (None, self._node_id):
                self._queue_forward(owner, obj, commands)
                return []
            return self._steal(obj, commands)
        self._queue_forward(owner, obj, commands)
        return []

    # ---- messages -----------------------------------------------------------------------------
    def _on_message(self, sender: NodeId, msg: Message) -> list[Effect]:
        obj = msg.obj
        match msg:
            case Prepare(ballot=ballot):
                effects = self._observe(obj, ballot)
                effects.extend(self._log(obj).on_prepare(sender, msg))
                return effects
            case Promise():
                lead = self._leads.get(obj)
                if lead is None or msg.ballot != lead.ballot:
                    return []
                effects = lead.on_promise(sender, msg, self.tick)
                self._busy.add(obj)
                if lead.prepared:
                    self._backoff.pop(obj, None)
                    self._dirty.add(obj)
                return effects
            case Accept(ballot=ballot, commit_upto=upto):
                effects = self._observe(obj, ballot)
                log = self._log(obj)
                effects.extend(log.on_accept(sender, msg))
                if ballot == log.promised:
                    self._learn_commit(log, ballot, upto)
                return effects
            case Accepted(ballot=ballot, slot=slot, decided_upto=decided_upto):
                lead = self._leads.get(obj)
                if lead is None or ballot != lead.ballot:
                    return []
                batch = lead.on_accepted(sender, slot, decided_upto)
                if batch is not None:
                    self._learn(lead.log, slot, batch)
                    self._dirty.add(obj)
                return []
            case Reject(ballot=ballot, promised=promised):
                lead = self._leads.get(obj)
                self._seen(obj, promised)
                if lead is None or ballot != lead.ballot or promised <= ballot:
                    return []
                # Somebody else holds it: back off a random while before stealing again.
                timeout = self.config.election_timeout_ticks_min
                self._backoff[obj] = self.tick + self._rng.randint(timeout // 2, timeout)
                return self._give_up(obj, promised.node)
            case Commit(ballot=ballot, upto=upto, stable_upto=stable_upto, again=again):
                effects = self._observe(obj, ballot)
                log = self._log(obj)
                log.stable_upto = max(log.stable_upto, stable_upto)
                if ballot >= log.promised:
                    self._learn_commit(log, ballot, upto)
                else:
                    log.commit_hint = max(log.commit_hint, upto)
                    self._note_missing(log)
                if again:
                    # Answered at the end of the step, behind the values learned in it.
                    self._learned_answers.append((sender, obj, ballot))
                return effects
            case Learned(ballot=ballot, decided_upto=decided_upto):
                lead = self._leads.get(obj)
                if lead is not None and ballot == lead.ballot:
                    lead.on_learned(sender, decided_upto)
                return []
            case Forward(commands=commands, hops=hops):
                return self._on_forward(sender, obj, commands, hops)
            case Handover(ballot=ballot):
                if obj in self._leads or ballot < self._log(obj).promised:
                    return []
                self.counters["handovers"] += 1
                return self._steal(obj, ())
            case CatchupRequest(from_slot=from_slot, upto=upto):
                log = self._log(obj)
                entries = log.entries(from_slot, upto, self.config.catchup_slots_max)
                if not entries:
                    return []
                return [Send(to=sender, message=CatchupReply(obj=obj, entries=entries))]
            case CatchupReply(entries=entries):
                return self._learn_entries(sender, obj, entries)
            case _:
                assert_never(msg)

    def _on_forward(
        self, sender: NodeId, obj: bytes, commands: tuple[Command, ...], hops: int
    ) -> list[Effect]:
        self.counters["forwards"] += 1
        lead = self._leads.get(obj)
        if lead is not None:
            lead.enqueue(commands)
            self._dirty.add(obj)
            if not lead.prepared:
                return []
            zone = self._zones.get(sender, self._zone)
            lead.forwarders[zone] = sender
            target = lead.policy.hit(zone, self.tick)
            if target is None or target not in lead.forwarders:
                return []
            to = lead.forwarders[target]
            return [
                Note(kind="handover", detail=f"object={obj!r} to={to}"),
                Send(to=to, message=Handover(obj=obj, ballot=lead.ballot)),
            ]
        owner = self._log(obj).owner
        if owner is None or owner == self._node_id:
            return self._steal(obj, commands)  # the sender believed we own it: now we do
        if hops < FORWARD_HOPS_MAX:
            forward = Forward(obj=obj, commands=commands, hops=hops + 1)
            return [Send(to=owner, message=forward)]
        return []  # a stale belief on both sides: the client retries

    # ---- learning -----------------------------------------------------------------------------
    def _learn(self, log: ObjectLog, slot: Slot, batch: Batch) -> bool:
        record = log.learn(slot, batch)
        if record is None:
            return False
        self.clock.see(batch_time(batch))
        self._decided_records.append(record)
        obj = log.key
        if log.decided_upto > log.delivered_upto:
            self._deliver.add(obj)
        awaiting = self._awaiting.get(obj)
        if awaiting is not None and log.decided_upto > awaiting[1]:
            del self._awaiting[obj]  # the owner is alive and making progress
        if not log.missing():
            self._missing.discard(obj)
        return True

    def _learn_commit(self, log: ObjectLog, ballot: Ballot, upto: Slot) -> None:
        for slot, batch in log.commit_point(ballot, upto):
            self._learn(log, slot, batch)
        self._note_missing(log)

    def _note_missing(self, log: ObjectLog) -> None:
        if log.missing():
            self._missing.add(log.key)

    def _learn_entries(
        self, sender: NodeId, obj: bytes, entries: tuple[DecidedEntry, ...]
    ) -> list[Effect]:
        log = self._log(obj)
        effects: list[Effect] = []
        lead = self._leads.get(obj)
        if lead is not None and lead.prepared:
            # A value we did not propose in one of our own slots: a higher ballot chose it,
            # and we never heard of it (a catch-up reply carries no ballot). Stop leading, or
            # our commit point would make our followers decide our value there.
            for entry in entries:
                if entry.slot < lead.from_slot or entry.slot in log.decided:
                    continue
                proposed = lead.proposed(entry.slot)
                if entry.slot >= lead.next_slot or proposed not in (None, entry.batch):
                    effects.extend(self._give_up(obj, sender))
                    break
        learned = sum(1 for e in entries if self._learn(log, e.slot, e.batch))
        if learned:
            effects.append(Note(kind="catchup", detail=f"slots={learned} from={sender}"))
        return effects

    # ---- time ---------------------------------------------------------------------------------
    def _on_tick(self) -> list[Effect]:
        self.tick += 1
        tick = self.tick
        effects: list[Effect] = []
        # Only leads in phase 1 or with proposals out retransmit: a node may own many objects.
        idle = []
        for obj in sorted(self._busy):
            lead = self._leads.get(obj)
            if lead is None or (lead.prepared and not lead.proposals):
                idle.append(obj)
                continue
            effects.extend(lead.retransmit(tick))
        self._busy.difference_update(idle)
        effects.extend(self._commit_again(tick))
        timeout = self.config.election_timeout_ticks_min
        for obj, (since, _) in sorted(self._awaiting.items()):
            if tick - since >= timeout and tick >= self._backoff.get(obj, 0):
                # The owner made no progress on what we forwarded: it may be down.
                effects.append(Note(kind="steal_on_timeout", detail=f"object={obj!r}"))
                effects.extend(self._steal(obj, ()))
        return effects

    def _commit_again(self, tick: int) -> list[Effect]:
        """Send an idle object's last commit again to the members that have not said they
        learned it (one that missed it while cut off or down would otherwise never ask)."""
        effects: list[Effect] = []
        settled = []
        ceiling = self.config.election_timeout_ticks_min * 8
        for obj in sorted(self._lagging):
            lead = self._leads.get(obj)
            if lead is None or not lead.prepared or not (laggards := lead.laggards()):
                settled.append(obj)
                continue
            if tick - lead.commit_again_tick < lead.commit_every:
                continue
            lead.commit_again_tick = tick
            lead.commit_every = min(lead.commit_every * 2, ceiling)
            log = lead.log
            log.stable_upto = max(log.stable_upto, lead.stable_upto())
            commit = Commit(
                obj=obj,
                ballot=lead.ballot,
                upto=lead.committed_sent,
                stable_upto=log.stable_upto,
                again=True,
            )
            effects.extend(Send(to=m, message=commit) for m in laggards)
        self._lagging.difference_update(settled)
        return effects

    def _flush(self, effects: list[Effect]) -> None:
        """The end of the driver's turn: propose, announce and forward what it gathered."""
        tick = self.tick
        peers = self.config.peers
        for obj in sorted(self._dirty):
            lead = self._leads.get(obj)
            if lead is None or not lead.prepared:
                continue
            effects.extend(lead.fill(tick))
            if lead.proposals:
                self._busy.add(obj)
            log = lead.log
            if log.decided_upto > lead.committed_sent:
                lead.committed_sent = log.decided_upto
                lead.commit_again_tick, lead.commit_every = tick, self.config.heartbeat_ticks
                self._lagging.add(obj)
                log.stable_upto = max(log.stable_upto, lead.stable_upto())
                commit = Commit(
                    obj=obj,
                    ballot=lead.ballot,
                    upto=log.decided_upto,
                    stable_upto=log.stable_upto,
                )
                effects.extend(Send(to=p, message=commit) for p in peers)
        self._dirty = {
            obj for obj in self._dirty if obj in self._leads and self._leads[obj].pending
        }
        if self._to_forward:
            for (owner, obj), commands in sorted(self._to_forward.items()):
                effects.append(Send(to=owner, message=Forward(obj=obj, commands=tuple(commands))))
                effects.append(Note(kind="forward", detail=f"object={obj!r} to={owner}"))
            self._to_forward = {}

    def _end_of_step(self, effects: list[Effect]) -> None:
        tick = self.tick
        if self._missing:
            every = self.config.retransmit_ticks
            peers = self.config.peers
            for obj in sorted(self._missing):
                log = self.logs[obj]
                if tick - log.asked_tick < every:
                    continue
                log.asked_tick = tick
                owner = log.owner
                if owner is None or owner == self._node_id or self._rng.random() < 0.5:
                    owner = peers[self._rng.randrange(len(peers))]
                start = log.decided_upto + 1
                upto = min(log.commit_hint, start + self.config.catchup_slots_max - 1)
                request = CatchupRequest(obj=obj, from_slot=start, upto=upto)
                effects.append(Send(to=owner, message=request))
        if self._decided_records:
            effects.append(Persist(records=tuple(self._decided_records), barrier=False))
            self._decided_records = []
        if self._learned_answers:
            # How far we learned lets peers forget those values: say it once it is durable.
            effects.append(DURABLE_FIRST)
            for to, obj, ballot in self._learned_answers:
                upto = self.logs[obj].decided_upto
                effects.append(
                    Send(to=to, message=Learned(obj=obj, ballot=ballot, decided_upto=upto))
                )
            self._learned_answers = []
        if self._deliver:
            for obj in sorted(self._deliver):
                for slot, batch in self.logs[obj].deliverable():
                    self.position += 1
                    effects.append(
                        Deliver(slot=self.position, batch=batch, object=obj, object_slot=slot)
                    )
            self._deliver = set()


__all__ = ["PROTOCOL_NAME", "Replica"]
