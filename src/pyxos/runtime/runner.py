"""`NodeRunner`: one asyncio task owns a `Node` and executes its effects in order.

Theory of operation. Everything that happens to the node is an input in one bounded inbox:
peer messages (from the transport), client requests (from the HTTP API) and ticks (a timer on
the event loop that feeds `Tick(now_ms)` every `tick_ms`, from `loop.time()`). One task, the
stepper, takes inputs out of the inbox, steps the node, and executes the effects it returns in
list order:

- `Persist(records)` hands the records to the log writer and, if it is a barrier, puts a
  marker into the `EffectGate`: every later `Send` and `Reply` of this node (in this step and
  in later ones) waits behind it until a sync covering those records has completed. The node
  does not wait: it keeps stepping, its in-memory state running ahead of what it has said.
- `Send` goes to the transport (to itself: straight back into the inbox) and `Reply` completes
  the future of the HTTP request that waits for it, both through the gate.
- `Persist(barrier=False)` and `SaveSnapshot` are queued to the log writer in order too, but
  start no sync of their own: the next sync covers them (at the latest the one the ticker
  starts every `tick_ms` when something is unsynced).
- `Applied`, `Restored` and `Note` are observations (counters and log lines). `Applied` also
  calls the hooks registered with `on_applied` (a lease waiter checks whether the slot just
  applied granted it the lock); with none registered it costs one truth test.

Group commit. The log writer runs at most one round at a time in a worker thread
(`asyncio.to_thread`): append every record handed over since the previous round, sync once,
then open the gate up to the last of them. Records appended while a round runs wait for the
next one, so under load one `fdatasync` covers many steps' records. The store is only ever
touched by one thread at a time. A failed sync (or any exception below the writer) is final:
the runner stops stepping, drops everything gated, and calls `on_failure`, which in a server
ends the process with a non-zero status (fail-stop: after a failed fsync the data may be lost,
so a node must never act as if it were durable). It is never retried.

Bounds. The inbox holds at most `inbox_max` peer messages and client requests (more peer
messages are dropped, as a lossy network would; more client requests are refused). While more
than `unsynced_records_max` records wait for the disk the stepper stops taking inputs, so a slow
disk pushes back instead of growing memory. Client ids come from a fixed pool.

Clients. `write` and `read`, their sessions, retries and deadlines are the other side of the
inbox and live in `pyxos.runtime.client_requests` (a mixin of `NodeRunner`); the stepper
completes their futures when a `Reply` leaves the gate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import assert_never

from pyxos.core.commands import Batch
from pyxos.core.ids import NodeId, Slot
from pyxos.core.io import Flush
from pyxos.core.messages import Message
from pyxos.core.records import Record, Snapshot
from pyxos.node.client_messages import ClientRead, ClientReply, ClientRequest, ReadReply
from pyxos.node.io import (
    Applied,
    FromClient,
    NodeEffect,
    NodeInput,
    Note,
    Persist,
    Receive,
    Reply,
    Restored,
    SaveSnapshot,
    Send,
    Tick,
)
from pyxos.node.node import Node
from pyxos.runtime.client_requests import ClientRequests
from pyxos.runtime.config import Limits
from pyxos.runtime.faults import FaultTable
from pyxos.runtime.gate import EffectGate
from pyxos.runtime.requests import CLIENT_ID_MIN, ClientPool, RequestTimeout, Unavailable
from pyxos.runtime.status import NodeStatus, Role, StatusCounters
from pyxos.storage.logstore import LogStore, write_round

# The request names stay importable from here, where they were defined at first.
__all__ = [
    "CLIENT_ID_MIN",
    "ClientPool",
    "NodeRunner",
    "RequestTimeout",
    "RunnerCounters",
    "Unavailable",
]

log = logging.getLogger(__name__)
FLUSH = Flush()

STEPS_PER_TURN = 64
"""Inputs stepped before the stepper yields to the event loop, so that the log writer, the
sends to peers and the HTTP server are not held up behind a long run of steps."""

APPLIED_LOG_MAX = 100_000
"""How many applied slots a node keeps in memory for inspection."""


@dataclass(slots=True)
class RunnerCounters:
    steps: int = 0
    syncs: int = 0
    records_synced: int = 0
    peer_messages_dropped: int = 0
    client_requests_refused: int = 0
    client_retries: int = 0
    client_timeouts: int = 0
    snapshots_saved: int = 0


class NodeRunner(ClientRequests):
    """Drives one `Node`. `start()`, then feed it; `stop()` at the end."""

    def __init__(
        self,
        node: Node,
        store: LogStore,
        *,
        limits: Limits,
        seq_base: int,
        on_failure: Callable[[BaseException], None],
        tick_ms: int | None = None,
        on_note: Callable[[str, str], None] | None = None,
        faults: FaultTable | None = None,
        on_role: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__(node.node_id, limits.clients_max, seq_base)
        self.node = node
        # Called with `is_leader` when the node becomes or stops being the leader (checked once
        # per turn of the stepper, and only when set).
        self._on_role = on_role
        self._was_leader = False
        # Injected faults (pyxos.runtime.faults): consulted on every peer message and client
        # request, at the cost of one attribute read while none is active.
        self.faults = faults if faults is not None else FaultTable()
        self._on_note = on_note
        self.node_id = node.node_id
        self._store = store
        self._limits = limits
        self._on_failure = on_failure
        self._tick_s = (tick_ms if tick_ms is not None else node.config.tick_ms) / 1000
        self._send: Callable[[NodeId, Message], None] | None = None
        self._inbox: deque[NodeInput] = deque()
        self._bounded = 0  # inputs in the inbox that count against `inbox_max`
        self._wakeup: asyncio.Future[None] | None = None
        self._gate: EffectGate[Send | Reply] = EffectGate()
        self._unsynced: list[Record | Snapshot] = []
        self._appended = 0  # position of the last record handed to the log writer
        self._durable = 0  # position up to which the log is synced
        self._wanted = 0  # a sync is wanted up to here (the last barrier, or a tick's flush)
        self._disk_progress: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._stepper: asyncio.Task[None] | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._next_tick = 0.0
        # The most recent applied slots, for `/log/print` and `pyxos log dump`: what this
        # process applied (replayed from its log at start, or after its latest snapshot).
        self.applied_log: deque[tuple[Slot, Batch]] = deque(maxlen=APPLIED_LOG_MAX)
        self._applied_hooks: list[Callable[[], None]] = []
        self.failure: BaseException | None = None
        self.stopped = asyncio.Event()
        self.counters = RunnerCounters()
        self._running = False

    # ---- lifecycle ------------------------------------------------------------------------
    def attach(self, send: Callable[[NodeId, Message], None]) -> None:
        """Where `Send` effects to other nodes go (the transport)."""
        self._send = send

    async def start(self) -> None:
        if self._send is None:
            raise RuntimeError("attach() a transport before start()")
        loop = asyncio.get_running_loop()
        self._running = True
        self._stepper = loop.create_task(self._step_loop(), name=f"pyxos-node-{self.node_id}")
        self._next_tick = loop.time() + self._tick_s
        self._tick_handle = loop.call_at(self._next_tick, self._tick)
        log.info("node=%d runner started, tick %.0f ms", self.node_id, self._tick_s * 1000)

    async def stop(self) -> None:
        """Stop stepping, make everything appended durable, close the store. Idempotent."""
        if not self._running:
            return
        self._running = False
        self._halt()
        if self.failure is None:
            # A clean exit: the last round may still be running; then sync what is left, so
            # that non-barrier records (decided values) survive too.
            if self._writer is not None:
                await asyncio.gather(self._writer, return_exceptions=True)
            if self._unsynced and self.failure is None:
                items, self._unsynced = self._unsynced, []
                try:
                    await asyncio.to_thread(write_round, self._store, items)
                except Exception as exc:
                    log.critical("node=%d final sync failed: %s", self.node_id, exc)
                    self.failure = exc
        await asyncio.to_thread(self._store.close)
        self.stopped.set()
        log.info("node=%d runner stopped", self.node_id)

    def _halt(self) -> None:
        if self._tick_handle is not None:
            self._tick_handle.cancel()
        if self._stepper is not None and self._stepper is not asyncio.current_task():
            self._stepper.cancel()
        dropped = self._gate.clear()
        if dropped:
            log.info("node=%d dropped %d gated effects at stop", self.node_id, dropped)
        self._abandon_requests(Unavailable("the node is stopping"))

    def _fail(self, exc: BaseException, what: str) -> None:
        if self.failure is not None:
            return
        self.failure = exc
        log.critical("node=%d %s, the node stops: %s", self.node_id, what, exc)
        self._running = False
        self._halt()
        self.stopped.set()
        self._on_failure(exc)

    # ---- inputs ---------------------------------------------------------------------------
    def receive(self, sender: NodeId, message: Message) -> bool:
        """A peer message arrived. False if it was dropped (inbox full, or not running)."""
        if not self._running or self._bounded >= self._limits.inbox_max:
            self.counters.peer_messages_dropped += 1
            return False
        faults = self.faults
        if faults.active and not faults.inbound(sender, asyncio.get_running_loop().time()):
            return False
        self._bounded += 1
        self._put(Receive(sender=sender, message=message))
        return True

    def _submit(self, sender: int, message: ClientRequest | ClientRead) -> bool:
        if not self._running or self._bounded >= self._limits.inbox_max:
            return False
        self._bounded += 1
        self._put(FromClient(sender=sender, message=message))
        return True

    def _put(self, inp: NodeInput) -> None:
        self._inbox.append(inp)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        # Ticks are not counted against the bound: they come at a fixed rate, and dropping one
        # would make the node's timers run slow. A late timer fires the missed ticks at once.
        self._put(Tick(now_ms=int(loop.time() * 1000)))
        if self._unsynced and self._running:
            # Non-barrier records become durable within a tick even when nothing else syncs.
            self._wanted = self._appended
            self._kick_writer()
        self._next_tick += self._tick_s
        self._tick_handle = loop.call_at(self._next_tick, self._tick)

    # ---- the stepper ----------------------------------------------------------------------
    async def _step_loop(self) -> None:
        loop = asyncio.get_running_loop()
        inbox = self._inbox
        node = self.node
        limit = self._limits.unsynced_records_max
        counters = self.counters
        while self._running:
            if not inbox:
                self._wakeup = loop.create_future()
                await self._wakeup
                continue
            if self._appended - self._durable > limit:
                # The disk is behind: take no input until a sync completes.
                self._wanted = self._appended
                self._kick_writer()
                self._disk_progress = loop.create_future()
                await self._disk_progress
                continue
            try:
                for _ in range(STEPS_PER_TURN):
                    if not inbox:
                        break
                    inp = inbox.popleft()
                    if type(inp) is not Tick and not _is_local(inp, self.node_id):
                        self._bounded -= 1
                    counters.steps += 1
                    self._execute(node.step(inp))
                # The turn ends: what it gathered is proposed, announced and forwarded together.
                self._execute(node.step(FLUSH))
                if self._on_role is not None and node.is_leader != self._was_leader:
                    self._was_leader = not self._was_leader
                    self._on_role(self._was_leader)
            except Exception as exc:  # a broken invariant in the node: crash, never go on
                self._fail(exc, "step raised")
                return
            await asyncio.sleep(0)

    def _execute(self, effects: list[NodeEffect]) -> None:
        gate = self._gate
        for effect in effects:
            match effect:
                case Send() | Reply():
                    if gate.offer(effect):
                        self._emit(effect)
                case Persist(records=records, barrier=barrier):
                    if records:
                        self._unsynced.extend(records)
                        self._appended += len(records)
                    if barrier and self._appended > self._durable:
                        gate.barrier(self._appended)
                        self._wanted = self._appended
                        self._kick_writer()
                case SaveSnapshot(snapshot=snapshot):
                    # Not a barrier: the records it covers stay valid until it is installed.
                    self._unsynced.append(snapshot)
                case Applied(slot=slot, batch=batch):
                    self.applied_log.append((slot, batch))
                    if self._applied_hooks:
                        for hook in tuple(self._applied_hooks):
                            hook()
                case Restored(slot=slot):
                    log.info(
                        "node=%d state restored from a snapshot at slot %d", self.node_id, slot
                    )
                case Note(kind=kind, detail=detail):
                    log.info("node=%d %s %s", self.node_id, kind, detail)
                    if self._on_note is not None:
                        self._on_note(kind, detail)
                case _:
                    assert_never(effect)

    def _emit(self, effect: Send | Reply) -> None:
        if type(effect) is Send:
            if effect.to == self.node_id:
                # A message to oneself (the leader's own vote) skips the network and the bound.
                self._put(Receive(sender=self.node_id, message=effect.message))
            else:
                assert self._send is not None
                if self.faults.active:
                    self._send_through_faults(effect.to, effect.message)
                else:
                    self._send(effect.to, effect.message)
            return
        message = effect.message
        if type(message) is ClientReply:
            # The whole reply: `write_at` needs its slot as well as its result.
            write = self._writes.get((message.client_id, message.seq))
            if write is not None and not write.done():
                write.set_result(message)
            return
        assert type(message) is ReadReply
        future = self._reads.get(message.read_id)
        if future is not None and not future.done():
            future.set_result(message.result)

    def _send_through_faults(self, to: NodeId, message: Message) -> None:
        assert self._send is not None
        loop = asyncio.get_running_loop()
        delay_s = self.faults.outbound(to, loop.time())
        if delay_s is None:
            return
        if delay_s:
            loop.call_later(delay_s, self._send, to, message)
        else:
            self._send(to, message)

    # ---- the log writer (group commit) ----------------------------------------------------
    def _kick_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        store = self._store
        # Rounds go on while something waits behind a barrier. Non-barrier records (decided
        # values, snapshots) start no round of their own: they ride with the next one, or with
        # the one the ticker starts, so that they never cost an extra fsync on the hot path.
        while self._unsynced and self._wanted > self._durable and self.failure is None:
            items, self._unsynced = self._unsynced, []
            upto = self._appended
            try:
                await asyncio.to_thread(write_round, store, items)
            except Exception as exc:
                self._fail(exc, "the log store failed")
                return
            self.counters.syncs += 1
            self.counters.records_synced += upto - self._durable
            self.counters.snapshots_saved += sum(1 for i in items if isinstance(i, Snapshot))
            self._durable = upto
            if not self._running:
                return  # stopping: nothing gated may run any more
            for effect in self._gate.release(upto):
                self._emit(effect)
            progress = self._disk_progress
            if progress is not None and not progress.done():
                progress.set_result(None)

    # ---- watching the applied state -------------------------------------------------------
    def on_applied(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook()` each time this node has applied a slot, until the returned function is
        called. The hook runs on the stepper, between two steps: it must be quick, must not
        raise, and may look at the state with `query_now` (never step the node)."""
        self._applied_hooks.append(hook)

        def remove() -> None:
            if hook in self._applied_hooks:
                self._applied_hooks.remove(hook)

        return remove

    def query_now(self, query: bytes) -> bytes:
        """Answer `query` from this node's state at this instant: a stale read without a trip
        through the inbox, for code that already knows the state is new enough (an
        `on_applied` hook, or its waiter)."""
        return self.node.machine.query(query)

    # ---- observation ----------------------------------------------------------------------
    @property
    def leader_known(self) -> bool:
        replica = self.node.replica
        return replica.is_leader or (replica.leader is None and replica.churn == 0)

    def status(self) -> NodeStatus:
        replica = self.node.replica
        role: Role
        if replica.is_leader:
            role, leader = "leader", self.node_id
        elif replica.leader is not None:
            role, leader = "candidate", None
        else:
            role, leader = "follower", replica.leader_hint if replica.churn == 0 else None
        return NodeStatus(
            node=self.node_id,
            role=role,
            leader=leader,
            view=replica.view,
            ballot=str(replica.promised),
            decided_index=replica.decided_upto,
            applied_index=self.node.applied_upto,
            # On the leader: slots each peer is behind (from heartbeat acks); elsewhere empty.
            lag=(
                {str(p): n for p, n in replica.leader.lag().items()}
                if replica.is_leader and replica.leader is not None
                else {}
            ),
            durable_records=self._durable,
            unsynced_records=self._appended - self._durable,
            inbox=len(self._inbox),
            clients_in_use=self._pool.in_use,
            counters=StatusCounters(**asdict(self.counters)),
            requests=self.meter.rates(time.perf_counter()),
        )


def _is_local(inp: NodeInput, node_id: NodeId) -> bool:
    # Messages to oneself are put in the inbox without counting against its bound.
    return type(inp) is Receive and inp.sender == node_id
