"""`NodeRunner`: one asyncio task owns a `Node` and executes its effects in order.

Theory of operation. Everything that happens to the node is an input in one bounded inbox:
peer messages (from the transport), client requests (from the HTTP API) and ticks (a timer on
the event loop that feeds `Tick(now_ms)` every `tick_ms`, from `loop.time()`). One task, the
stepper, takes inputs out of the inbox a turn at a time (`pyxos.exec.turns`), steps the node,
and hands the effects to the `EffectExecutor` (`pyxos.exec`), the same one the simulator runs:
messages and replies go out through the `Persist` gate, records and snapshots go to the
group-commit writer, observations come back here. The runner supplies the I/O:

- `Send` goes to the transport (to itself: straight back into the inbox) and `Reply` completes
  the future of the request that waits for it, once the gate lets them out.
- `Applied`, `Restored` and `Note` are observations (counters and log lines). `Applied` also
  calls the hooks registered with `on_applied` (a lease waiter checks whether the slot just
  applied granted it the lock); with none registered it costs one truth test.
- A write round runs in a worker thread (`asyncio.to_thread`): append its records, install its
  snapshots where they fall, sync once; then the executor opens the gate up to its last record.
  Records handed over while a round runs wait for the next one, so under load one `fdatasync`
  covers many steps' records; the ticker asks every `tick_ms` for records that no barrier
  waits for. The store is only ever touched by one thread at a time.

Failure. A failed sync (or any exception below the writer) is final:
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
from dataclasses import asdict
from typing import assert_never

from pyxos.core.commands import Batch
from pyxos.core.ids import NodeId, Slot
from pyxos.core.io import PeerMessage as Message
from pyxos.core.protocol import ROLE_REJOINING
from pyxos.exec.executor import EffectExecutor, Emitted, Observed
from pyxos.exec.turns import STEPS_PER_TURN, run_turn
from pyxos.exec.writer import WriteRound
from pyxos.node.client_messages import ClientRead, ClientReply, ClientRequest, ReadReply
from pyxos.node.io import (
    Applied,
    FromClient,
    NodeInput,
    Note,
    Receive,
    Restored,
    Send,
    Tick,
)
from pyxos.node.node import Node
from pyxos.runtime.client_requests import ClientRequests, RunnerCounters
from pyxos.runtime.config import Limits
from pyxos.runtime.disk import DiskCounters, DiskRounds
from pyxos.runtime.faults import FaultTable
from pyxos.runtime.protocol_support import ProtocolSupport
from pyxos.runtime.requests import CLIENT_ID_MIN, ClientPool, RequestTimeout, Unavailable
from pyxos.runtime.status import NodeStatus, Role, StatusCounters
from pyxos.storage.logstore import LogStore

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

TICKS_BEHIND_MAX = 10
"""A ticker this many ticks late skips the missed ones (see `_tick`)."""

APPLIED_LOG_MAX = 100_000
"""How many applied slots a node keeps in memory for inspection."""


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
        self.support = ProtocolSupport(node.protocol)
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
        self._disk = DiskRounds(
            store, done=self._round_done, on_failure=lambda e: self._fail(e, "the log store failed")
        )
        self._executor = EffectExecutor(
            emit=self._emit, observe=self._observe, start_round=self._disk.start
        )
        self._disk_progress: asyncio.Future[None] | None = None
        self._stepper: asyncio.Task[None] | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._next_tick = 0.0
        # The most recent applied slots, for `/log/print` and `pyxos log dump`: what this
        # process applied (replayed from its log at start, or after its latest snapshot).
        self.applied_log: deque[tuple[Slot, Batch]] = deque(maxlen=APPLIED_LOG_MAX)
        # With a log per object (WPaxos), positions interleave the objects in whatever order
        # this node learned them, so they differ between nodes: each object's own slots are
        # what nodes agree on, kept here as `object -> [(object_slot, batch)]`, in order, for
        # `/log/print?object=` (bounded in all by `APPLIED_LOG_MAX`, oldest dropped first).
        self.object_logs: dict[bytes, deque[tuple[Slot, Batch]]] = {}
        self._object_order: deque[bytes] = deque()
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
            await self._disk.drain()
            rest = self._executor.writer.take_rest()
            if rest is not None and self.failure is None:
                try:
                    await self._disk.write_now(rest)
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
        dropped = self._executor.stop()
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
        now = loop.time()
        self._put(Tick(now_ms=int(now * 1000)))
        if self._running:
            # Non-barrier records become durable within a tick even when nothing else syncs.
            self._executor.want_all()
        self._next_tick += self._tick_s
        if now - self._next_tick > TICKS_BEHIND_MAX * self._tick_s:
            # The loop stalled (or its clock jumped): resume the beat from now instead of
            # firing every missed tick at once.
            self._next_tick = now + self._tick_s
        self._tick_handle = loop.call_at(self._next_tick, self._tick)

    # ---- the stepper ----------------------------------------------------------------------
    async def _step_loop(self) -> None:
        loop = asyncio.get_running_loop()
        inbox = self._inbox
        node = self.node
        limit = self._limits.unsynced_records_max
        counters = self.counters
        executor = self._executor
        writer = executor.writer
        while self._running:
            if not inbox:
                self._wakeup = loop.create_future()
                await self._wakeup
                continue
            if writer.backlog > limit:
                # The disk is behind: take no input until a round completes.
                executor.want_all()
                self._disk_progress = loop.create_future()
                await self._disk_progress
                continue
            try:
                # The turn ends with a flush: what it gathered is proposed, announced and
                # forwarded together.
                counters.steps += run_turn(
                    inbox, node.step, executor.execute, inputs_max=STEPS_PER_TURN, taken=self._taken
                )
                if self._on_role is not None and node.is_leader != self._was_leader:
                    self._was_leader = not self._was_leader
                    self._on_role(self._was_leader)
            except Exception as exc:  # a broken invariant in the node: crash, never go on
                self._fail(exc, "step raised")
                return
            await asyncio.sleep(0)

    def _taken(self, inp: NodeInput) -> None:
        if type(inp) is not Tick and not _is_local(inp, self.node_id):
            self._bounded -= 1

    def _observe(self, effect: Observed) -> None:
        match effect:
            case Applied(slot=slot, batch=batch, object=obj, object_slot=object_slot):
                self.applied_log.append((slot, batch))
                if self.support.per_object:
                    self._keep_object_slot(obj, object_slot, batch)
                if self._applied_hooks:
                    for hook in tuple(self._applied_hooks):
                        hook()
            case Restored(slot=slot):
                log.info("node=%d state restored from a snapshot at slot %d", self.node_id, slot)
            case Note(kind=kind, detail=detail):
                log.info("node=%d %s %s", self.node_id, kind, detail)
                if self._on_note is not None:
                    self._on_note(kind, detail)
            case _:
                assert_never(effect)

    def _emit(self, effect: Emitted) -> None:
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

    def _keep_object_slot(self, obj: bytes, object_slot: Slot, batch: Batch) -> None:
        log_of = self.object_logs.get(obj)
        if log_of is None:
            log_of = self.object_logs[obj] = deque()
        log_of.append((object_slot, batch))
        order = self._object_order
        order.append(obj)
        if len(order) > APPLIED_LOG_MAX:
            oldest = order.popleft()
            kept = self.object_logs[oldest]
            kept.popleft()
            if not kept:
                del self.object_logs[oldest]

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
    def _round_done(self, round_: WriteRound) -> None:
        """A write round is durable: the executor releases what waited for it."""
        if not self._running:
            # Stopping: the records are durable, but nothing gated may run any more.
            self._executor.writer.finish(round_)
            return
        self._executor.round_done(round_)
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
    def disk_counters(self) -> DiskCounters:
        """Write rounds (syncs), records and snapshots made durable so far."""
        return self._disk.counters

    @property
    def leader_known(self) -> bool:
        return self.node.status().leader is not None

    def status(self) -> NodeStatus:
        status = self.node.status()
        disk = self._disk.counters
        writer = self._executor.writer
        role: Role = "follower" if status.role == ROLE_REJOINING else status.role  # type: ignore[assignment]
        return NodeStatus(
            node=self.node_id,
            protocol=status.protocol,
            role=role,
            leader=status.leader,
            view=status.view,
            ballot=str(status.promised),
            decided_index=status.decided_upto,
            applied_index=self.node.applied_upto,
            # On the leader: slots each peer is behind (from heartbeat acks); elsewhere empty.
            lag={str(p): n for p, n in status.lag.items()},
            durable_records=writer.durable,
            unsynced_records=writer.backlog,
            inbox=len(self._inbox),
            clients_in_use=self._pool.in_use,
            counters=StatusCounters(
                **asdict(self.counters),
                syncs=disk.syncs,
                records_synced=disk.records_synced,
                snapshots_saved=disk.snapshots_saved,
            ),
            requests=self.meter.rates(time.perf_counter()),
            protocol_counters=dict(status.counters),
        )


def _is_local(inp: NodeInput, node_id: NodeId) -> bool:
    # Messages to oneself are put in the inbox without counting against its bound.
    return type(inp) is Receive and inp.sender == node_id
