"""A node: one replica, one state machine, the client sessions, and the clients waiting.

Theory of operation. A client command enters through any node. The node checks the session
table (a retry of an applied command is answered from it at once), remembers who is waiting, and
hands the command to its replica, which proposes it (leader) or forwards it to the leader. Every
node applies every decided slot in order; the node that received a command answers it when the
command is applied *there*, so no reply has to be routed back from the leader.

A linearizable read asks the replica for a read index (confirmed by a quorum through the leader)
and is answered from the local state machine once the node has applied through that index; with
a protocol that reads through the log (`ProtocolSpec.reads_through_log`), it is a command that
answers the query where it lands in the log. A read with `linearizable=False` is answered from
local state at once and may be stale.

With a protocol that orders each object on its own (`ExecutionOrder.PER_OBJECT`), sessions,
log time and the last applied slot are kept per object (`objects.py`), and a snapshot holds them
all: the protocol cuts each object's log where the snapshot stands in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import assert_never

from pyxos.core.commands import Batch, Command, batch_time
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot, NodeId, Slot
from pyxos.core.io import (
    Compact,
    Deliver,
    DurableRecord,
    Effect,
    Flush,
    Note,
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
from pyxos.core.protocol import ExecutionOrder, ProtocolSpec, ProtocolStatus, Replica
from pyxos.core.protocols import DEFAULT_PROTOCOL, protocol_spec
from pyxos.core.snapshot import Snapshot
from pyxos.machines.base import ApplyContext, Keyed, StateMachine, TimedMachine
from pyxos.machines.router import CLOCK_OP, Router, read_op
from pyxos.machines.sessions import (
    NO_SESSION,
    READS_MIN,
    Duplicate,
    SessionTable,
    Stale,
    apply_command,
)
from pyxos.node import state
from pyxos.node.client_messages import ClientRead, ClientReply, ClientRequest, ReadReply
from pyxos.node.io import (
    Address,
    Applied,
    FromClient,
    NodeEffect,
    NodeInput,
    Reply,
    Restored,
)
from pyxos.node.objects import PerObject

# A clock command proposed for a deadline is proposed again after this many ticks if log time
# has still not passed the deadline (the first was lost in a view change).
CLOCK_RETRY_TICKS = 20

# A read whose read index has not arrived after this many ticks is forgotten: the leader that
# was asked is gone or the answer was lost, and the client retries.
READ_INDEX_WAIT_TICKS = 100


class _WaitingRead:
    __slots__ = ("client", "index", "query", "read_id", "tick", "to")

    def __init__(self, to: Address, client: int, read_id: int, query: bytes, tick: int) -> None:
        self.to = to
        self.client = client
        self.read_id = read_id
        self.query = query
        self.tick = tick
        self.index: Slot = -1  # unknown until the read index arrives


class Node:
    """The pure server: `step(input) -> effects`, like the replica it wraps."""

    def __init__(
        self,
        *,
        config: ReplicaConfig,
        machine: StateMachine,
        rng: Random,
        durable: Sequence[DurableRecord] = (),
        snapshot: Snapshot | None = None,
        rejoining: bool = False,
        protocol: ProtocolSpec | None = None,
    ) -> None:
        """Build the node from what survived on its disk. `protocol` is the protocol its replica
        runs (Multi-Paxos when not given)."""
        self.config = config
        self.protocol = protocol if protocol is not None else protocol_spec(DEFAULT_PROTOCOL)
        self.node_id: NodeId = config.node_id
        self.machine = machine
        self.sessions = SessionTable()
        self.applied_upto: Slot = 0
        self.time_ms = 0  # log time: the highest leader stamp applied
        self._snapshot_slot: Slot = 0
        # Observations owed to the driver before the first step's effects.
        self._pending: list[NodeEffect] = []
        self._per_object = PerObject() if self.protocol.order is ExecutionOrder.PER_OBJECT else None
        if snapshot is not None:
            self._restore(snapshot)
            self._pending.append(_restored(snapshot))
        self._object_of = machine.object_of if isinstance(machine, Keyed) else None
        self._clock_object = self._object_of(CLOCK_OP) if self._object_of is not None else b""
        if self.protocol.reads_through_log and not isinstance(machine, Router):
            raise ValueError(
                f"protocol {self.protocol.name} reads through the log: it needs the machines "
                "under a pyxos.machines.router.Router"
            )
        # Reads through the log: this node's session-less client id, and the reads waiting. A
        # read's seq carries this incarnation's nonce above its number: a read an earlier
        # incarnation proposed may still land in the log, and must not answer a new one.
        self._read_client = READS_MIN + config.node_id
        self._read_nonce = rng.getrandbits(30) << 32
        self._log_reads: dict[int, _WaitingRead] = {}
        self.replica: Replica = self.protocol.build(
            config,
            rng,
            durable=durable,
            snapshot=snapshot,
            rejoining=rejoining,
            log_time_ms=self.time_ms,
            objects=self._object_of,
        )
        self._timed = machine if isinstance(machine, TimedMachine) else None
        self._clock_proposed: tuple[int, int] | None = None  # (deadline, tick)
        self._clock_seq = 0
        self._ticks = 0
        # client id -> (seq, address) of the one command that client is waiting for.
        self._writers: dict[int, tuple[int, Address]] = {}
        self._reads: dict[int, _WaitingRead] = {}
        self._next_read = 1
        self._ready_reads: list[_WaitingRead] = []  # index known, waiting for apply

    @property
    def promised(self) -> Ballot:
        return self.replica.promised

    @property
    def is_leader(self) -> bool:
        return self.replica.is_leader

    def status(self) -> ProtocolStatus:
        """The replica's view of itself (see `ProtocolStatus`)."""
        return self.replica.status()

    def step(self, inp: NodeInput) -> list[NodeEffect]:
        match inp:
            case Tick():
                self._ticks += 1
                if (self._reads or self._log_reads) and self._ticks % READ_INDEX_WAIT_TICKS == 0:
                    self._forget_old_reads()
                effects = self._run(self.replica.step(inp))
                if self._timed is not None and self.replica.leads(self._clock_object):
                    effects.extend(self._propose_clock())
                return effects
            case Receive() | Flush():
                return self._run(self.replica.step(inp))
            case FromClient(sender=sender, message=message):
                match message:
                    case ClientRequest():
                        return self._on_request(sender, message)
                    case ClientRead():
                        return self._on_read(sender, message)
                    case _:
                        assert_never(message)
            case _:
                assert_never(inp)

    # ---- clients ----------------------------------------------------------------------------
    def _sessions_of(self, op: bytes) -> SessionTable:
        per_object = self._per_object
        if per_object is None or self._object_of is None:
            return self.sessions
        return per_object.sessions(self._object_of(op))

    def _on_request(self, sender: Address, msg: ClientRequest) -> list[NodeEffect]:
        verdict = self._sessions_of(msg.op).check(msg.client_id, msg.seq)
        if isinstance(verdict, Duplicate):
            reply = ClientReply(client_id=msg.client_id, seq=msg.seq, result=verdict.result)
            return [Reply(to=sender, message=reply)]
        if isinstance(verdict, Stale):
            return []
        self._writers[msg.client_id] = (msg.seq, sender)
        command = Command(client_id=msg.client_id, seq=msg.seq, op=msg.op)
        return self._run(self.replica.step(Propose(commands=(command,))))

    def _on_read(self, sender: Address, msg: ClientRead) -> list[NodeEffect]:
        if not msg.linearizable:
            result = self.machine.query(msg.query)
            reply = ReadReply(client_id=msg.client_id, read_id=msg.read_id, result=result)
            return [Reply(to=sender, message=reply)]
        request_id = self._next_read
        self._next_read += 1
        waiting = _WaitingRead(sender, msg.client_id, msg.read_id, msg.query, self._ticks)
        if self.protocol.reads_through_log:
            seq = self._read_nonce | (request_id & 0xFFFF_FFFF)
            self._log_reads[seq] = waiting
            command = Command(client_id=self._read_client, seq=seq, op=read_op(msg.query))
            return self._run(self.replica.step(Propose(commands=(command,))))
        self._reads[request_id] = waiting
        return self._run(self.replica.step(RequestReadIndex(request_ids=(request_id,))))

    # ---- core effects -----------------------------------------------------------------------
    def _run(self, effects: list[Effect]) -> list[NodeEffect]:
        out: list[NodeEffect] = []
        if self._pending:
            out, self._pending = self._pending, out
        for effect in effects:
            match effect:
                case Send() | Persist() | Note():
                    out.append(effect)
                case Deliver(slot=slot, batch=batch, object=obj, object_slot=object_slot):
                    self._apply(slot, batch, out, obj, object_slot or slot)
                case ReadIndexReady(request_ids=request_ids, index=index):
                    for request_id in request_ids:
                        read = self._reads.pop(request_id, None)
                        if read is not None:
                            read.index = index
                            self._ready_reads.append(read)
                    self._serve_reads(out)
                case RestoreSnapshot(snapshot=snapshot):
                    self._restore(snapshot)
                    out.append(_restored(snapshot))
                    self._serve_reads(out)
                case SaveSnapshot():
                    out.append(effect)
                case _:
                    assert_never(effect)
        return out

    def _apply(
        self, slot: Slot, batch: Batch, out: list[NodeEffect], obj: bytes, object_slot: Slot
    ) -> None:
        if slot != self.applied_upto + 1:
            raise AssertionError(f"node {self.node_id}: slot {slot} after {self.applied_upto}")
        machine, writers = self.machine, self._writers
        stamped = batch_time(batch)
        self.time_ms = max(self.time_ms, stamped)
        per_object = self._per_object
        if per_object is None:
            sessions, time_ms, advance = self.sessions, self.time_ms, True
        else:
            # This object's own order: its sessions, its log time, its slot as the position a
            # fencing token counts in; time-based machines move only with their own object.
            sessions = per_object.sessions(obj)
            time_ms = per_object.stamp(obj, stamped)
            per_object.applied[obj] = object_slot
            advance = obj == self._clock_object
        for command in batch:
            client_id = command.client_id
            ctx = ApplyContext(object_slot, time_ms, client_id, command.seq, advance)
            result = apply_command(machine, sessions, command.op, ctx)
            if client_id == self._read_client:
                read = self._log_reads.pop(command.seq, None)
                if read is not None and result is not None:
                    answer = ReadReply(client_id=read.client, read_id=read.read_id, result=result)
                    out.append(Reply(to=read.to, message=answer))
                continue
            waiting = writers.get(client_id)
            if waiting is not None and waiting[0] == command.seq and result is not None:
                del writers[command.client_id]
                reply = ClientReply(
                    client_id=command.client_id, seq=command.seq, result=result, slot=slot
                )
                out.append(Reply(to=waiting[1], message=reply))
        self.applied_upto = slot
        out.append(Applied(slot=slot, batch=batch, object=obj, object_slot=object_slot))
        if self._ready_reads:
            self._serve_reads(out)
        every = self.config.snapshot_every_slots
        if every and slot - self._snapshot_slot >= every:
            self._take_snapshot(slot, out)

    def _take_snapshot(self, slot: Slot, out: list[NodeEffect]) -> None:
        self._snapshot_slot = slot
        per_object = self._per_object
        if per_object is None:
            data = state.capture(self.machine, self.sessions, self.time_ms)
            compact = Compact(slot=slot, state=data, time_ms=self.time_ms)
        else:
            data = per_object.capture(self.machine.snapshot(), self.time_ms)
            compact = Compact(
                slot=slot, state=data, time_ms=self.time_ms, objects=per_object.cuts()
            )
        out.extend(self._run(self.replica.step(compact)))

    def _restore(self, snapshot: Snapshot) -> None:
        """Replace the state with `snapshot`'s (at start, or a peer's snapshot installed)."""
        per_object = self._per_object
        if per_object is None:
            self.time_ms = state.restore(snapshot.state, self.machine, self.sessions)
        else:
            machine, self.time_ms = per_object.restore(snapshot.state)
            self.machine.restore(machine)
        self.applied_upto = self._snapshot_slot = snapshot.slot

    def _propose_clock(self) -> list[NodeEffect]:
        """On the leader: propose a clock command once log time should pass the machine's next
        deadline, so that a lease expires (and its waiters wake) with no other command coming."""
        assert self._timed is not None
        deadline = self._timed.next_deadline_ms()
        now = (
            self.time_ms
            if self._per_object is None
            else self._per_object.time_ms(self._clock_object)
        )
        if deadline is None or deadline <= now:
            return []
        if self.replica.log_time_ms < deadline:
            return []
        sent = self._clock_proposed
        if sent is not None and sent[0] == deadline and self._ticks - sent[1] < CLOCK_RETRY_TICKS:
            return []
        self._clock_proposed = (deadline, self._ticks)
        self._clock_seq += 1
        command = Command(client_id=NO_SESSION, seq=self._clock_seq, op=CLOCK_OP)
        return self._run(self.replica.step(Propose(commands=(command,))))

    def _forget_old_reads(self) -> None:
        oldest = self._ticks - READ_INDEX_WAIT_TICKS
        self._reads = {rid: r for rid, r in self._reads.items() if r.tick > oldest}
        self._log_reads = {rid: r for rid, r in self._log_reads.items() if r.tick > oldest}

    def _serve_reads(self, out: list[NodeEffect]) -> None:
        still = []
        for read in self._ready_reads:
            if read.index <= self.applied_upto:
                result = self.machine.query(read.query)
                reply = ReadReply(client_id=read.client, read_id=read.read_id, result=result)
                out.append(Reply(to=read.to, message=reply))
            else:
                still.append(read)
        self._ready_reads = still


def _restored(snapshot: Snapshot) -> Restored:
    objects = tuple((cut.obj, cut.applied) for cut in snapshot.objects)
    return Restored(slot=snapshot.slot, objects=objects)
