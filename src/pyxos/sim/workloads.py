"""Simulated clients of the coordination machines: a contended lock, an election, FIFO queues.

They run the same closed loop as the KV clients (`pyxos.sim.closed_loop`): one operation at a
time, sent to a random node and retried with the same `seq` until answered, so each is applied
exactly once. Every operation goes through the log (a `ClientRequest`), so each has a log time:
the runner fills it in from the applied log at the end, and the lock model needs it
(`pyxos.check.objects`).

- `LockClient` (workload "lock"): every client contends for one lock with short leases, waits
  in line or gives up, and while it believes it holds the lock writes a fenced value under its
  token, refreshes, releases, or just looks. Its belief can be stale (it thinks for longer than
  its lease), which is the point: its fenced writes must then be refused.
- `ElectionClient` (workload "election"): campaigns for a role, polls until elected, then as
  leader writes under its term, refreshes, and sometimes resigns.
- `QueueClient` (workload "queue"): pushes unique items to two queues and pops them.

Each client counts what it saw happen (`counts`): a waiter granted the lock, a fenced write
refused for a stale token.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from pyxos.check.objects import ObjectOp
from pyxos.machines import locks, queue
from pyxos.machines.catalog import LOCKS, QUEUE
from pyxos.machines.kv import Put
from pyxos.machines.kv import decode_result as decode_kv_result
from pyxos.machines.kv import encode_op as encode_kv_op
from pyxos.machines.router import route
from pyxos.node.client_messages import ClientInbound, ClientOutbound, ClientRequest
from pyxos.sim.closed_loop import ClosedLoopClient

LOCK_NAME = "L"
ELECTION_LOCK = "election/leader"
QUEUE_NAMES = ("q1", "q2")
LOCK_TTLS_MS = (20, 40, 80, 150)
ELECTION_TTLS_MS = (60, 120, 250)


def fenced_key(lock: str) -> str:
    """The KV key a lock's fenced writes go to."""
    return f"fenced/{lock}"


class ObjectClient(ClosedLoopClient[ObjectOp, Hashable]):
    """The closed loop (`pyxos.sim.closed_loop`) every workload client shares; subclasses
    choose the next call (`_choose`) and read its answer (`_read`)."""

    __slots__ = ("_args", "_key", "_kind", "_seqs", "counts", "seq")

    def _init_state(self) -> None:
        self.seq = 0
        self._seqs: list[int] = []  # the seq of each operation in `history`
        self.counts: dict[str, int] = {}
        self._kind = ""
        self._key = ""
        self._args: tuple[Hashable, ...] = ()

    @property
    def owner(self) -> str:
        return f"c{self.address}"

    def on_reply(self, now_us: int, sender: int, message: ClientOutbound) -> bool:
        if not super().on_reply(now_us, sender, message):
            return False
        self._seqs.append(self.seq)
        return True

    def timed_history(self, times: Mapping[tuple[int, int], int]) -> list[ObjectOp]:
        """The operations with their log times (`times`: `(client, seq)` -> log time ms); the
        pending one too if it was applied (one never applied took no effect and is left out)."""
        ops = [
            _with_time(op, times.get((self.address, seq)))
            for op, seq in zip(self.history, self._seqs, strict=True)
        ]
        pending = self.pending()
        if pending is not None and (self.address, self.seq) in times:
            ops.append(_with_time(pending, times[(self.address, self.seq)]))
        return ops

    def _next_request(self) -> ClientInbound:
        self._kind, self._key, self._args, op = self._choose()
        self.seq += 1
        return ClientRequest(client_id=self.address, seq=self.seq, op=op)

    def _entry(self, *, complete: int | None, output: Hashable) -> ObjectOp:
        return ObjectOp(
            client=self.address,
            kind=self._kind,
            key=self._key,
            args=self._args,
            invoke=self._invoke_us,
            complete=complete,
            output=output,
        )

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    # ---- what subclasses decide -------------------------------------------------------------
    def _choose(self) -> tuple[str, str, tuple[Hashable, ...], bytes]:
        """The next call: `(kind, object, args, routed op bytes)`."""
        raise NotImplementedError

    def _read(self, result: bytes) -> Hashable:
        """The history's output for the answer `result` to the current call."""
        raise NotImplementedError


def _with_time(op: ObjectOp, time_ms: int | None) -> ObjectOp:
    return ObjectOp(
        client=op.client,
        kind=op.kind,
        key=op.key,
        args=op.args,
        invoke=op.invoke,
        complete=op.complete,
        output=op.output,
        time_ms=time_ms,
    )


def _lock_op(op: locks.LockOp) -> bytes:
    return route(LOCKS, locks.encode_op(op))


class LockClient(ObjectClient):
    """Contends for one lock; see the module's docstring."""

    __slots__ = ("_lock", "_token", "_waiting")

    _TTLS: tuple[int, ...] = LOCK_TTLS_MS

    _LOCK = LOCK_NAME

    def _init_state(self) -> None:
        super()._init_state()
        self._lock = self._LOCK
        self._token: int | None = None  # the token of the grant this client believes it holds
        self._waiting = False

    def _choose(self) -> tuple[str, str, tuple[Hashable, ...], bytes]:
        rng, lock, owner = self._rng, self._lock, self.owner
        roll = rng.random()
        ttl = self._TTLS[int(rng.random() * len(self._TTLS))]
        token = self._token
        if token is None:
            if self._waiting and roll < 0.15:
                return "cancel", lock, (owner,), _lock_op(locks.Cancel(lock=lock, owner=owner))
            wait = self._waiting or roll < 0.6
            op = locks.Acquire(lock=lock, owner=owner, ttl_ms=ttl, wait=wait)
            return "acquire", lock, (owner, ttl, wait), _lock_op(op)
        if roll < 0.45:
            value = f"{self.address}.{self.seq + 1}"
            inner = encode_kv_op(Put(key=fenced_key(lock), value=value.encode()))
            op_g = locks.Guarded(lock=lock, token=token, op=inner)
            return "guarded", lock, (token, value), _lock_op(op_g)
        if roll < 0.65:
            op_r = locks.Refresh(lock=lock, owner=owner, token=token, ttl_ms=ttl)
            return "refresh", lock, (owner, token, ttl), _lock_op(op_r)
        if roll < 0.9:
            op_x = locks.Release(lock=lock, owner=owner, token=token)
            return "release", lock, (owner, token), _lock_op(op_x)
        return "whose", lock, (), _lock_op(locks.Whose(lock=lock))

    def _read(self, result: bytes) -> Hashable:
        try:
            answer = locks.decode_result(result)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return ("undecodable", result)
        previous = None
        if answer.protected is not None:
            written = decode_kv_result(answer.protected).value
            previous = None if written is None else written.decode()
        if answer.error == locks.ERROR_STALE_TOKEN:
            self._count("stale_token_refused")
        mine = answer.holder == self.owner
        if mine and self._waiting:
            self._count("waiter_granted")
        self._token = answer.token if mine else None
        if mine:
            self._waiting = False
        elif answer.position:
            self._waiting = True
        elif self._kind == "cancel":
            self._waiting = False
        return (
            answer.error,
            answer.holder,
            answer.token,
            answer.expires_ms,
            answer.granted,
            answer.position,
            previous,
        )


class ElectionClient(LockClient):
    """Campaigns for leadership; see the module's docstring."""

    __slots__ = ()

    _TTLS = ELECTION_TTLS_MS
    _LOCK = ELECTION_LOCK

    def _choose(self) -> tuple[str, str, tuple[Hashable, ...], bytes]:
        rng, lock, owner = self._rng, self._lock, self.owner
        ttl = self._TTLS[int(rng.random() * len(self._TTLS))]
        token = self._token
        if token is None:
            # Campaign, or keep polling the place in line.
            op = locks.Acquire(lock=lock, owner=owner, ttl_ms=ttl, wait=True)
            return "acquire", lock, (owner, ttl, True), _lock_op(op)
        roll = rng.random()
        if roll < 0.5:
            value = f"leader {owner} term {token}"
            inner = encode_kv_op(Put(key=fenced_key(lock), value=value.encode()))
            op_g = locks.Guarded(lock=lock, token=token, op=inner)
            return "guarded", lock, (token, value), _lock_op(op_g)
        if roll < 0.9:
            op_r = locks.Refresh(lock=lock, owner=owner, token=token, ttl_ms=ttl)
            return "refresh", lock, (owner, token, ttl), _lock_op(op_r)
        op_x = locks.Release(lock=lock, owner=owner, token=token)
        return "release", lock, (owner, token), _lock_op(op_x)


class QueueClient(ObjectClient):
    """Pushes unique items to two queues and pops them."""

    __slots__ = ()

    def _choose(self) -> tuple[str, str, tuple[Hashable, ...], bytes]:
        rng = self._rng
        roll = rng.random()
        name = QUEUE_NAMES[int(rng.random() * len(QUEUE_NAMES))]
        if roll < 0.5:
            item = f"{self.address}.{self.seq + 1}"
            op: queue.QueueOp = queue.Push(queue=name, item=item.encode())
            return "push", name, (item,), route(QUEUE, queue.encode_op(op))
        if roll < 0.9:
            return "pop", name, (), route(QUEUE, queue.encode_op(queue.Pop(queue=name)))
        return "peek", name, (), route(QUEUE, queue.encode_op(queue.Peek(queue=name)))

    def _read(self, result: bytes) -> Hashable:
        try:
            answer = queue.decode_result(result)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return ("undecodable", result)
        item = None if answer.item is None else answer.item.decode()
        return (answer.error, item, answer.length)
