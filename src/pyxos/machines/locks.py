"""Named locks with leases, FIFO waiters and fencing tokens.

Theory of operation. A lock is granted to an owner for `ttl_ms` of log time: the time the leader
stamps on commands (`core/clock.py`), the same on every replica, never read from a clock here.
The lease ends when its holder releases it, or when log time reaches its expiry; the router
advances this machine before any command whose time is past the next expiry, and the leader
proposes a clock command when no other command comes (`TimedMachine`). Either way the lock then
goes AT ONCE, in the same command, to the first owner in its FIFO waiter list.

Every grant takes the next number of one counter for the whole machine: the fencing token. It
strictly increases across grants (of any lock), is never reused, and survives snapshots. A lease
cannot give mutual exclusion on its own: a holder that pauses past its expiry still believes it
holds the lock. The token makes the protected resource safe instead: a `Guarded` write carries
the token of the grant it was made under and reaches the protected machine (the key-value store)
only if that grant is still the lock's current, unexpired one at the write's log time.

Every grant re-checks the lease at grant time: a command first expires whatever is due at its
log time, so a lease is never seen as held past its expiry nor granted twice (etcd #11456).

Results carry `expires_ms` in log time and `remaining_ms`, the lease left at the command's time.
A query has no command time; it answers against the last log time this machine applied.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import assert_never

import msgspec

from pyxos.machines.base import ApplyContext, StateMachine
from pyxos.machines.codec import MachineCodec
from pyxos.machines.display import show_bad, show_name

ERROR_BAD_COMMAND = "bad_command"
"""The bytes are not an encoded `LockOp` (or a `Guarded` op on a machine with nothing to guard)."""
ERROR_HELD = "held"
"""`Acquire(wait=False)`: another owner holds the lock."""
ERROR_HELD_BY_YOU = "held_by_you"
"""`Acquire`: the owner already holds the lock (refresh it instead)."""
ERROR_NOT_HOLDER = "not_holder"
"""`Refresh` or `Release` by an owner and token that are not the current grant."""
ERROR_STALE_TOKEN = "stale_token"
"""`Guarded`: the token is not the lock's current unexpired grant; nothing was written."""
ERROR_BAD_TTL = "bad_ttl"
"""`ttl_ms` is below 1 or above `TTL_MS_MAX`."""
ERROR_NOT_A_QUERY = "not_a_query"
"""`query` got an operation that would write (anything but `Whose`)."""

TTL_MS_MAX = 24 * 60 * 60 * 1000
"""The longest lease: one day of log time."""


class _LockOp(msgspec.Struct, frozen=True, array_like=True, tag=True):
    pass


class Acquire(_LockOp, frozen=True, tag="acquire"):
    """Take `lock` for `ttl_ms`. If another owner holds it: with `wait=False` fail with `held`;
    with `wait=True` join the FIFO waiter list (an owner already waiting keeps its place) and be
    granted when the lock is released or expires."""

    lock: str
    owner: str
    ttl_ms: int
    wait: bool


class Refresh(_LockOp, frozen=True, tag="refresh"):
    """Extend the holder's lease to `ttl_ms` from now; owner and token must be the grant's."""

    lock: str
    owner: str
    token: int
    ttl_ms: int


class Release(_LockOp, frozen=True, tag="release"):
    """Free the lock (owner and token must be the grant's) and grant it to the first waiter."""

    lock: str
    owner: str
    token: int


class Cancel(_LockOp, frozen=True, tag="cancel"):
    """Leave the waiter list (a wait the client gave up on); succeeds if not waiting too."""

    lock: str
    owner: str


class Whose(_LockOp, frozen=True, tag="whose"):
    """Who holds `lock`, with which token, until when. Through the log or as a query."""

    lock: str


class Guarded(_LockOp, frozen=True, tag="guarded"):
    """Apply `op` to the protected machine only if `token` is `lock`'s current unexpired grant."""

    lock: str
    token: int
    op: bytes


LockOp = Acquire | Refresh | Release | Cancel | Whose | Guarded


class LockResult(msgspec.Struct, frozen=True, array_like=True):
    """The answer to one lock operation.

    `holder`, `token`, `expires_ms` (log time) and `remaining_ms` describe the lock's grant after
    the operation (`holder` None: free). `granted` says the operation's owner holds the lock now;
    `position` (from 1) is its place among the waiters when it waits instead; `waiting` is how
    many owners wait in line. `protected` is the protected machine's encoded result of an applied
    `Guarded` write.
    """

    ok: bool = True
    error: str | None = None
    lock: str = ""
    holder: str | None = None
    token: int = 0
    expires_ms: int = 0
    remaining_ms: int = 0
    granted: bool = False
    position: int = 0
    protected: bytes | None = None
    waiting: int = 0


class _Waiter(msgspec.Struct, frozen=True, array_like=True):
    owner: str
    ttl_ms: int


class _Lock(msgspec.Struct, array_like=True):
    name: str
    holder: str
    token: int
    expires_ms: int
    waiters: list[_Waiter]


class _Snapshot(msgspec.Struct, frozen=True, array_like=True, tag="locks1"):
    # Locks sorted by name, so equal states give equal bytes.
    last_token: int
    time_ms: int
    locks: list[_Lock]


_CODEC: MachineCodec[LockOp, LockResult] = MachineCodec(LockOp, LockResult)
_OP_DECODER = _CODEC.op_decoder
_ENCODER = _CODEC.encoder
_SNAPSHOT_DECODER = msgspec.msgpack.Decoder(_Snapshot)
_BAD_COMMAND = _ENCODER.encode(LockResult(ok=False, error=ERROR_BAD_COMMAND))
_NOT_A_QUERY = _ENCODER.encode(LockResult(ok=False, error=ERROR_NOT_A_QUERY))

encode_op = _CODEC.encode_op
decode_op = _CODEC.decode_op
encode_result = _CODEC.encode_result
decode_result = _CODEC.decode_result


def describe_op(op: bytes, *, protected: Callable[[bytes], str] = show_bad) -> str:
    """`op` for a person (`pyxos.machines.display`): `acquire db alice ttl=5000ms [wait]`,
    `refresh db alice token=3 ttl=5000ms`, `release db alice token=3`, `cancel db alice`,
    `whose db`, `guarded db token=3: {the write, as protected(write) shows it}`; `bad {hex}`
    for other bytes."""
    try:
        decoded = _OP_DECODER.decode(op)
    except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
        return show_bad(op)
    match decoded:
        case Acquire(lock=lock, owner=owner, ttl_ms=ttl_ms, wait=wait):
            waits = " wait" if wait else ""
            return f"acquire {show_name(lock)} {show_name(owner)} ttl={ttl_ms}ms{waits}"
        case Refresh(lock=lock, owner=owner, token=token, ttl_ms=ttl_ms):
            return f"refresh {show_name(lock)} {show_name(owner)} token={token} ttl={ttl_ms}ms"
        case Release(lock=lock, owner=owner, token=token):
            return f"release {show_name(lock)} {show_name(owner)} token={token}"
        case Cancel(lock=lock, owner=owner):
            return f"cancel {show_name(lock)} {show_name(owner)}"
        case Whose(lock=lock):
            return f"whose {show_name(lock)}"
        case Guarded(lock=lock, token=token, op=write):
            return f"guarded {show_name(lock)} token={token}: {protected(write)}"
        case _:
            assert_never(decoded)


class LockMachine:
    """The locks; implements `StateMachine` and `TimedMachine`.

    `protected` is the machine `Guarded` writes go to (the key-value store); its own state is
    not part of this machine's snapshot (it is registered, and snapshotted, under its own name).
    """

    def __init__(self, protected: StateMachine | None = None) -> None:
        self.protected = protected
        self._locks: dict[str, _Lock] = {}
        self._last_token = 0
        self._time_ms = 0
        # (expires_ms, token, lock) of every grant, with stale entries (refreshed or released
        # grants) dropped lazily: the router asks for the next deadline before every command.
        self._deadlines: list[tuple[int, int, str]] = []

    # ---- StateMachine -----------------------------------------------------------------------
    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        self.advance(ctx)
        try:
            decoded = _OP_DECODER.decode(op)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_COMMAND
        return _ENCODER.encode(self._execute(decoded, ctx))

    def query(self, query: bytes) -> bytes:
        try:
            decoded = _OP_DECODER.decode(query)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_COMMAND
        if not isinstance(decoded, Whose):
            return _NOT_A_QUERY
        return _ENCODER.encode(self._describe(decoded.lock, self._time_ms))

    def snapshot(self) -> bytes:
        locks = [self._locks[name] for name in sorted(self._locks)]
        return _ENCODER.encode(
            _Snapshot(last_token=self._last_token, time_ms=self._time_ms, locks=locks)
        )

    def restore(self, data: bytes) -> None:
        """Replace the state; raises `ValueError` on bad bytes and then changes nothing."""
        snapshot = _SNAPSHOT_DECODER.decode(data)
        _check_loaded(snapshot)
        self._locks = {lock.name: lock for lock in snapshot.locks}
        self._last_token = snapshot.last_token
        self._time_ms = snapshot.time_ms
        self._deadlines = sorted((lk.expires_ms, lk.token, lk.name) for lk in snapshot.locks)

    # ---- TimedMachine -----------------------------------------------------------------------
    def next_deadline_ms(self) -> int | None:
        deadlines, locks = self._deadlines, self._locks
        while deadlines:
            expires_ms, token, name = deadlines[0]
            lock = locks.get(name)
            if lock is not None and lock.token == token and lock.expires_ms == expires_ms:
                return expires_ms
            heapq.heappop(deadlines)
        return None

    def advance(self, ctx: ApplyContext) -> None:
        """Expire every lease with `expires_ms <= ctx.time_ms`, granting each to its next waiter."""
        now = ctx.time_ms
        self._time_ms = max(self._time_ms, now)
        while (deadline := self.next_deadline_ms()) is not None and deadline <= now:
            _, _, name = heapq.heappop(self._deadlines)
            self._pass_on(self._locks[name], now)

    # ---- inspection -------------------------------------------------------------------------
    @property
    def last_token(self) -> int:
        """The token of the latest grant (0: none yet)."""
        return self._last_token

    def __len__(self) -> int:
        return len(self._locks)

    # ---- operations -------------------------------------------------------------------------
    def _execute(self, op: LockOp, ctx: ApplyContext) -> LockResult:
        now = ctx.time_ms
        match op:
            case Acquire(lock=name, owner=owner, ttl_ms=ttl_ms, wait=wait):
                return self._acquire(name, owner, ttl_ms, wait, now)
            case Refresh(lock=name, owner=owner, token=token, ttl_ms=ttl_ms):
                return self._refresh(name, owner, token, ttl_ms, now)
            case Release(lock=name, owner=owner, token=token):
                return self._release(name, owner, token, now)
            case Cancel(lock=name, owner=owner):
                lock = self._locks.get(name)
                if lock is not None:
                    lock.waiters = [w for w in lock.waiters if w.owner != owner]
                return self._describe(name, now)
            case Whose(lock=name):
                return self._describe(name, now)
            case Guarded(lock=name, token=token, op=inner):
                return self._guarded(name, token, inner, ctx)
            case _:
                assert_never(op)

    def _acquire(self, name: str, owner: str, ttl_ms: int, wait: bool, now: int) -> LockResult:
        if not 1 <= ttl_ms <= TTL_MS_MAX:
            return self._describe(name, now, error=ERROR_BAD_TTL)
        lock = self._locks.get(name)
        if lock is None:
            lock = self._grant(name, owner, ttl_ms, now, [])
            return self._describe(name, now, granted=True)
        if lock.holder == owner:
            return self._describe(name, now, error=ERROR_HELD_BY_YOU)
        if not wait:
            return self._describe(name, now, error=ERROR_HELD)
        for index, waiter in enumerate(lock.waiters):
            if waiter.owner == owner:
                return self._describe(name, now, position=index + 1)
        lock.waiters.append(_Waiter(owner=owner, ttl_ms=ttl_ms))
        return self._describe(name, now, position=len(lock.waiters))

    def _refresh(self, name: str, owner: str, token: int, ttl_ms: int, now: int) -> LockResult:
        if not 1 <= ttl_ms <= TTL_MS_MAX:
            return self._describe(name, now, error=ERROR_BAD_TTL)
        lock = self._locks.get(name)
        if lock is None or lock.holder != owner or lock.token != token:
            return self._describe(name, now, error=ERROR_NOT_HOLDER)
        lock.expires_ms = now + ttl_ms
        heapq.heappush(self._deadlines, (lock.expires_ms, lock.token, name))
        return self._describe(name, now, granted=True)

    def _release(self, name: str, owner: str, token: int, now: int) -> LockResult:
        lock = self._locks.get(name)
        if lock is None or lock.holder != owner or lock.token != token:
            return self._describe(name, now, error=ERROR_NOT_HOLDER)
        self._pass_on(lock, now)
        return self._describe(name, now)

    def _guarded(self, name: str, token: int, inner: bytes, ctx: ApplyContext) -> LockResult:
        if self.protected is None:
            return self._describe(name, ctx.time_ms, error=ERROR_BAD_COMMAND)
        lock = self._locks.get(name)
        # `apply` expired every lease due at this time before we got here.
        if lock is None or lock.token != token or lock.expires_ms <= ctx.time_ms:
            return self._describe(name, ctx.time_ms, error=ERROR_STALE_TOKEN)
        protected = self.protected.apply(inner, ctx)
        return self._describe(name, ctx.time_ms, protected=protected)

    # ---- grants -----------------------------------------------------------------------------
    def _grant(self, name: str, owner: str, ttl_ms: int, now: int, waiters: list[_Waiter]) -> _Lock:
        self._last_token += 1
        lock = _Lock(
            name=name,
            holder=owner,
            token=self._last_token,
            expires_ms=now + ttl_ms,
            waiters=waiters,
        )
        self._locks[name] = lock
        heapq.heappush(self._deadlines, (lock.expires_ms, lock.token, name))
        return lock

    def _pass_on(self, lock: _Lock, now: int) -> None:
        """The grant of `lock` ended (released or expired): grant it to the first waiter."""
        if not lock.waiters:
            del self._locks[lock.name]
            return
        first, *rest = lock.waiters
        self._grant(lock.name, first.owner, first.ttl_ms, now, rest)

    def _describe(
        self,
        name: str,
        now: int,
        *,
        error: str | None = None,
        granted: bool = False,
        position: int = 0,
        protected: bytes | None = None,
    ) -> LockResult:
        lock = self._locks.get(name)
        if lock is None:
            return LockResult(ok=error is None, error=error, lock=name)
        return LockResult(
            ok=error is None,
            error=error,
            lock=name,
            holder=lock.holder,
            token=lock.token,
            expires_ms=lock.expires_ms,
            remaining_ms=max(0, lock.expires_ms - now),
            granted=granted,
            position=position,
            protected=protected,
            waiting=len(lock.waiters),
        )


def _check_loaded(snapshot: _Snapshot) -> None:
    # What `apply` maintains, checked again after loading a snapshot.
    previous = None
    for lock in snapshot.locks:
        if previous is not None and lock.name <= previous:
            raise ValueError(f"snapshot locks not in ascending order at {lock.name!r}")
        if not 1 <= lock.token <= snapshot.last_token:
            raise ValueError(f"lock {lock.name!r}: token {lock.token} beyond the counter")
        owners = [w.owner for w in lock.waiters]
        if len(set(owners)) != len(owners) or lock.holder in owners:
            raise ValueError(f"lock {lock.name!r}: an owner appears twice")
        previous = lock.name
