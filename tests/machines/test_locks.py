"""The lock machine: leases in log time, FIFO waiters, fencing tokens, fenced writes, snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
import pytest
from hypothesis import assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from pyxos.machines import kv
from pyxos.machines.base import ApplyContext, TimedMachine
from pyxos.machines.catalog import build_machines
from pyxos.machines.kv import KvMachine
from pyxos.machines.locks import (
    ERROR_BAD_COMMAND,
    ERROR_BAD_TTL,
    ERROR_HELD,
    ERROR_HELD_BY_YOU,
    ERROR_NOT_A_QUERY,
    ERROR_NOT_HOLDER,
    ERROR_STALE_TOKEN,
    TTL_MS_MAX,
    Acquire,
    Cancel,
    Guarded,
    LockMachine,
    LockOp,
    LockResult,
    Refresh,
    Release,
    Whose,
    decode_op,
    decode_result,
    encode_op,
    encode_result,
)
from pyxos.machines.router import CLOCK_OP, route

SETTINGS = settings(derandomize=True, database=None, deadline=None)


def _ctx(time_ms: int, slot: int = 1) -> ApplyContext:
    return ApplyContext(slot=slot, time_ms=time_ms)


def _run(machine: LockMachine, op: LockOp, time_ms: int) -> LockResult:
    return decode_result(machine.apply(encode_op(op), _ctx(time_ms)))


def _put(key: str, value: bytes) -> bytes:
    return kv.encode_op(kv.Put(key=key, value=value))


# ---- rules, one behaviour each -----------------------------------------------------------------
def test_a_free_lock_is_granted_with_the_next_token_and_an_expiry_in_log_time() -> None:
    machine = LockMachine()
    got = _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 1_000)
    assert got == LockResult(
        lock="L", holder="a", token=1, expires_ms=1_100, remaining_ms=100, granted=True
    )
    assert machine.next_deadline_ms() == 1_100
    assert isinstance(machine, TimedMachine)


def test_a_held_lock_is_refused_without_waiting_and_the_holder_is_told_it_holds_it() -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    other = _run(machine, Acquire(lock="L", owner="b", ttl_ms=100, wait=False), 10)
    assert (other.ok, other.error, other.holder, other.token) == (False, ERROR_HELD, "a", 1)
    assert other.remaining_ms == 90
    again = _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=True), 20)
    assert (again.ok, again.error) == (False, ERROR_HELD_BY_YOU)


def test_waiters_queue_in_order_and_keep_their_place() -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    b = _run(machine, Acquire(lock="L", owner="b", ttl_ms=50, wait=True), 1)
    c = _run(machine, Acquire(lock="L", owner="c", ttl_ms=70, wait=True), 2)
    b_again = _run(machine, Acquire(lock="L", owner="b", ttl_ms=999, wait=True), 3)
    assert (b.ok, b.granted, b.position) == (True, False, 1)
    assert (c.granted, c.position) == (False, 2)
    assert (b_again.granted, b_again.position) == (False, 1)


def test_a_release_grants_the_first_waiter_in_the_same_command() -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    _run(machine, Acquire(lock="L", owner="b", ttl_ms=50, wait=True), 1)
    released = _run(machine, Release(lock="L", owner="a", token=1), 30)
    assert (released.ok, released.holder, released.token, released.expires_ms) == (
        True,
        "b",
        2,
        80,
    )
    assert machine.next_deadline_ms() == 80


def test_an_expiry_grants_the_first_waiter_that_has_not_cancelled() -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    _run(machine, Acquire(lock="L", owner="b", ttl_ms=50, wait=True), 1)
    _run(machine, Acquire(lock="L", owner="c", ttl_ms=70, wait=True), 2)
    assert _run(machine, Cancel(lock="L", owner="b"), 3).ok
    assert _run(machine, Cancel(lock="L", owner="nobody"), 4).ok
    machine.advance(_ctx(100))  # the clock command, with no other traffic
    whose = _run(machine, Whose(lock="L"), 100)
    assert (whose.holder, whose.token, whose.expires_ms, whose.remaining_ms) == ("c", 2, 170, 70)


def test_an_expired_lease_is_free_to_the_next_command_even_without_the_clock_command() -> None:
    """The grant re-checks the lease at the command's own time (etcd #11456)."""
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    got = _run(machine, Acquire(lock="L", owner="b", ttl_ms=10, wait=False), 100)
    assert (got.ok, got.holder, got.token) == (True, "b", 2)
    assert not _run(machine, Refresh(lock="L", owner="a", token=1, ttl_ms=100), 101).ok


def test_a_lease_is_held_until_just_before_its_expiry() -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    assert _run(machine, Whose(lock="L"), 99).holder == "a"
    assert _run(machine, Whose(lock="L"), 100).holder is None
    assert len(machine) == 0


def test_refresh_extends_from_now_for_the_holder_only() -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    got = _run(machine, Refresh(lock="L", owner="a", token=1, ttl_ms=300), 90)
    assert (got.ok, got.expires_ms, got.remaining_ms, got.token) == (True, 390, 300, 1)
    assert machine.next_deadline_ms() == 390
    for wrong in (
        Refresh(lock="L", owner="b", token=1, ttl_ms=5),
        Refresh(lock="L", owner="a", token=2, ttl_ms=5),
    ):
        assert _run(machine, wrong, 91).error == ERROR_NOT_HOLDER
    assert _run(machine, Whose(lock="L"), 200).holder == "a"  # the old expiry (100) passed


def test_release_by_someone_else_or_with_an_old_token_changes_nothing() -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    assert _run(machine, Release(lock="L", owner="b", token=1), 1).error == ERROR_NOT_HOLDER
    assert _run(machine, Release(lock="L", owner="a", token=7), 1).error == ERROR_NOT_HOLDER
    assert _run(machine, Release(lock="free", owner="a", token=1), 1).error == ERROR_NOT_HOLDER
    assert _run(machine, Whose(lock="L"), 2).holder == "a"


def test_tokens_come_from_one_counter_for_every_lock() -> None:
    machine = LockMachine()
    tokens = [
        _run(machine, Acquire(lock=name, owner="a", ttl_ms=10, wait=False), t).token
        for t, name in enumerate(["L", "M", "N"])
    ]
    assert tokens == [1, 2, 3]
    assert _run(machine, Acquire(lock="L", owner="b", ttl_ms=10, wait=False), 50).token == 4
    assert machine.last_token == 4


@pytest.mark.parametrize("ttl_ms", [0, -5, TTL_MS_MAX + 1])
def test_a_ttl_out_of_range_is_refused(ttl_ms: int) -> None:
    machine = LockMachine()
    assert _run(machine, Acquire(lock="L", owner="a", ttl_ms=ttl_ms, wait=True), 0).error == (
        ERROR_BAD_TTL
    )
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=TTL_MS_MAX, wait=False), 0)
    assert _run(machine, Refresh(lock="L", owner="a", token=1, ttl_ms=ttl_ms), 0).error == (
        ERROR_BAD_TTL
    )


def test_a_guarded_write_reaches_the_store_only_under_the_current_grant() -> None:
    store = KvMachine()
    machine = LockMachine(protected=store)
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    written = _run(machine, Guarded(lock="L", token=1, op=_put("k", b"1")), 10)
    assert written.ok and written.protected is not None
    assert kv.decode_result(written.protected) == kv.KvResult(value=None)
    _run(machine, Acquire(lock="L", owner="b", ttl_ms=100, wait=False), 100)  # a's lease ended
    stale = _run(machine, Guarded(lock="L", token=1, op=_put("k", b"stale")), 110)
    assert (stale.ok, stale.error, stale.protected, stale.token) == (
        False,
        ERROR_STALE_TOKEN,
        None,
        2,
    )
    assert _run(machine, Guarded(lock="L", token=2, op=_put("k", b"2")), 120).ok
    assert dict(store.data) == {"k": b"2"}


def test_a_guarded_write_after_the_expiry_is_refused_even_with_no_new_holder() -> None:
    store = KvMachine()
    machine = LockMachine(protected=store)
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    assert _run(machine, Guarded(lock="L", token=1, op=_put("k", b"1")), 100).error == (
        ERROR_STALE_TOKEN
    )
    assert len(store) == 0


def test_a_guarded_write_with_nothing_to_guard_is_a_bad_command() -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    assert _run(machine, Guarded(lock="L", token=1, op=_put("k", b"1")), 1).error == (
        ERROR_BAD_COMMAND
    )


def test_whose_is_a_query_and_nothing_else_is() -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 40)
    answer = decode_result(machine.query(encode_op(Whose(lock="L"))))
    assert (answer.holder, answer.token, answer.remaining_ms) == ("a", 1, 100)
    assert decode_result(machine.query(encode_op(Whose(lock="none")))) == LockResult(lock="none")
    acquire = encode_op(Acquire(lock="M", owner="a", ttl_ms=1, wait=False))
    assert decode_result(machine.query(acquire)).error == ERROR_NOT_A_QUERY
    assert decode_result(machine.query(b"\xc1")).error == ERROR_BAD_COMMAND


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\x93\xa4lock", encode_op(Whose(lock="x"))[:-1]])
def test_bad_bytes_are_answered_not_raised(data: bytes) -> None:
    assert _run_raw(LockMachine(), data) == LockResult(ok=False, error=ERROR_BAD_COMMAND)


def _run_raw(machine: LockMachine, data: bytes) -> LockResult:
    return decode_result(machine.apply(data, _ctx(0)))


def test_the_codecs_round_trip() -> None:
    op = Guarded(lock="L", token=3, op=b"\x00")
    assert decode_op(encode_op(op)) == op
    result = LockResult(lock="L", holder="a", token=3, protected=b"x")
    assert decode_result(encode_result(result)) == result
    with pytest.raises(msgspec.DecodeError):
        decode_op(b"\xc1")


# ---- through the router ------------------------------------------------------------------------
def test_the_router_expires_leases_and_the_node_knows_when_to_send_the_clock() -> None:
    machines = build_machines()
    assert isinstance(machines, TimedMachine)
    acquire = encode_op(Acquire(lock="L", owner="a", ttl_ms=100, wait=False))
    machines.apply(route("locks", acquire), _ctx(0))
    machines.apply(
        route("locks", encode_op(Acquire(lock="L", owner="b", ttl_ms=5, wait=True))), _ctx(1)
    )
    assert machines.next_deadline_ms() == 100
    machines.apply(CLOCK_OP, _ctx(100))
    assert machines.next_deadline_ms() == 105
    whose = decode_result(machines.query(route("locks", encode_op(Whose(lock="L")))))
    assert (whose.holder, whose.token) == ("b", 2)


def test_a_guarded_write_through_the_router_lands_in_the_kv_store() -> None:
    machines = build_machines()
    machines.apply(
        route("locks", encode_op(Acquire(lock="L", owner="a", ttl_ms=100, wait=False))), _ctx(0)
    )
    machines.apply(
        route("locks", encode_op(Guarded(lock="L", token=1, op=_put("k", b"v")))), _ctx(1)
    )
    got = kv.decode_result(machines.query(kv.encode_op(kv.Get(key="k"))))
    assert got.value == b"v"


# ---- snapshots ---------------------------------------------------------------------------------
def test_equal_states_give_equal_snapshots_whatever_the_order_of_creation() -> None:
    first, second = LockMachine(), LockMachine()
    for name in ["x", "y"]:
        _run(first, Acquire(lock=name, owner="o", ttl_ms=100, wait=False), 0)
    _run(first, Release(lock="x", owner="o", token=1), 1)
    _run(first, Acquire(lock="x", owner="o", ttl_ms=99, wait=False), 2)
    _run(second, Acquire(lock="q", owner="o", ttl_ms=1, wait=False), 0)
    _run(second, Acquire(lock="y", owner="o", ttl_ms=100, wait=False), 0)
    _run(second, Acquire(lock="x", owner="o", ttl_ms=99, wait=False), 2)  # q expired at 1
    assert first.snapshot() == second.snapshot()


def test_a_restored_machine_carries_on_with_the_counter_and_the_deadlines() -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    _run(machine, Acquire(lock="L", owner="b", ttl_ms=100, wait=True), 0)
    restored = LockMachine()
    restored.restore(machine.snapshot())
    assert restored.snapshot() == machine.snapshot()
    assert restored.next_deadline_ms() == 100
    assert _run(restored, Whose(lock="L"), 100).token == 2


@pytest.mark.parametrize("data", [b"", b"\xc1", kv.KvMachine().snapshot()])
def test_a_bad_snapshot_is_refused_and_changes_nothing(data: bytes) -> None:
    machine = LockMachine()
    _run(machine, Acquire(lock="L", owner="a", ttl_ms=100, wait=False), 0)
    before = machine.snapshot()
    with pytest.raises(ValueError):
        machine.restore(data)
    assert machine.snapshot() == before


# ---- against a model ---------------------------------------------------------------------------
@dataclass
class _ModelLock:
    holder: str
    token: int
    expires_ms: int
    waiters: list[tuple[str, int]] = field(default_factory=list)


class LockModel:
    """The lock specification, written as plainly as possible: scans, no heaps."""

    def __init__(self) -> None:
        self.locks: dict[str, _ModelLock] = {}
        self.last_token = 0
        self.store: dict[str, bytes] = {}

    def expire(self, now: int) -> None:
        while True:
            due = [
                (lk.expires_ms, lk.token, n) for n, lk in self.locks.items() if lk.expires_ms <= now
            ]
            if not due:
                return
            self.pass_on(min(due)[2], now)

    def pass_on(self, name: str, now: int) -> None:
        lock = self.locks.pop(name)
        if lock.waiters:
            (owner, ttl), *rest = lock.waiters
            self.last_token += 1
            self.locks[name] = _ModelLock(owner, self.last_token, now + ttl, rest)

    def describe(self, name: str, now: int, **extra: object) -> LockResult:
        error = extra.get("error")
        lock = self.locks.get(name)
        if lock is None:
            return LockResult(ok=error is None, lock=name, **extra)  # type: ignore[arg-type]
        return LockResult(
            ok=error is None,
            lock=name,
            holder=lock.holder,
            token=lock.token,
            expires_ms=lock.expires_ms,
            remaining_ms=lock.expires_ms - now,
            waiting=len(lock.waiters),
            **extra,  # type: ignore[arg-type]
        )

    def run(self, op: LockOp, now: int) -> LockResult:
        self.expire(now)
        lock = self.locks.get(op.lock)
        match op:
            case Acquire(owner=owner, ttl_ms=ttl, wait=wait):
                if not 1 <= ttl <= TTL_MS_MAX:
                    return self.describe(op.lock, now, error=ERROR_BAD_TTL)
                if lock is None:
                    self.last_token += 1
                    self.locks[op.lock] = _ModelLock(owner, self.last_token, now + ttl)
                    return self.describe(op.lock, now, granted=True)
                if lock.holder == owner:
                    return self.describe(op.lock, now, error=ERROR_HELD_BY_YOU)
                if not wait:
                    return self.describe(op.lock, now, error=ERROR_HELD)
                owners = [w for w, _ in lock.waiters]
                if owner not in owners:
                    lock.waiters.append((owner, ttl))
                    owners.append(owner)
                return self.describe(op.lock, now, position=owners.index(owner) + 1)
            case Refresh(owner=owner, token=token, ttl_ms=ttl):
                if not 1 <= ttl <= TTL_MS_MAX:
                    return self.describe(op.lock, now, error=ERROR_BAD_TTL)
                if lock is None or (lock.holder, lock.token) != (owner, token):
                    return self.describe(op.lock, now, error=ERROR_NOT_HOLDER)
                lock.expires_ms = now + ttl
                return self.describe(op.lock, now, granted=True)
            case Release(owner=owner, token=token):
                if lock is None or (lock.holder, lock.token) != (owner, token):
                    return self.describe(op.lock, now, error=ERROR_NOT_HOLDER)
                self.pass_on(op.lock, now)
                return self.describe(op.lock, now)
            case Cancel(owner=owner):
                if lock is not None:
                    lock.waiters = [w for w in lock.waiters if w[0] != owner]
                return self.describe(op.lock, now)
            case Whose():
                return self.describe(op.lock, now)
            case Guarded(token=token, op=inner):
                if lock is None or lock.token != token:
                    return self.describe(op.lock, now, error=ERROR_STALE_TOKEN)
                put = kv.decode_op(inner)
                assert isinstance(put, kv.Put)
                previous = self.store.get(put.key)
                self.store[put.key] = put.value
                return self.describe(
                    op.lock, now, protected=kv.encode_result(kv.KvResult(value=previous))
                )
            case _:
                raise AssertionError(op)


LOCKS = st.sampled_from(["L", "M"])
OWNERS = st.sampled_from(["a", "b", "c"])
TTLS = st.sampled_from([1, 5, 20, 100, 0])
TOKENS = st.integers(0, 8)


class LocksAgainstModel(RuleBasedStateMachine):
    """Random operations at random (never decreasing) log times: the machine answers as the
    model does, its tokens only grow, and a snapshot taken anywhere restores the same machine."""

    def __init__(self) -> None:
        super().__init__()
        self.store = KvMachine()
        self.machine = LockMachine(protected=self.store)
        self.model = LockModel()
        self.now = 0
        self.tokens_seen = 0

    def _check(self, op: LockOp) -> None:
        got = _run(self.machine, op, self.now)
        assert got == self.model.run(op, self.now)
        if got.granted or got.holder is not None:
            assert got.token <= self.machine.last_token

    @rule(step=st.sampled_from([0, 1, 4, 19, 50]))
    def time_passes(self, step: int) -> None:
        self.now += step

    @rule()
    def clock_command(self) -> None:
        deadline = self.machine.next_deadline_ms()
        if deadline is not None and deadline <= self.now:
            self.machine.advance(_ctx(self.now))
            self.model.expire(self.now)

    @rule(lock=LOCKS, owner=OWNERS, ttl=TTLS, wait=st.booleans())
    def acquire(self, lock: str, owner: str, ttl: int, wait: bool) -> None:
        self._check(Acquire(lock=lock, owner=owner, ttl_ms=ttl, wait=wait))

    @rule(lock=LOCKS, owner=OWNERS, ttl=TTLS, token=TOKENS)
    def refresh(self, lock: str, owner: str, ttl: int, token: int) -> None:
        self._check(Refresh(lock=lock, owner=owner, token=token, ttl_ms=ttl))

    @rule(lock=LOCKS, owner=OWNERS, token=TOKENS)
    def release(self, lock: str, owner: str, token: int) -> None:
        self._check(Release(lock=lock, owner=owner, token=token))

    @rule(lock=LOCKS)
    def release_by_the_holder(self, lock: str) -> None:
        held = decode_result(self.machine.query(encode_op(Whose(lock=lock))))
        assume(held.holder is not None)
        assert held.holder is not None
        self._check(Release(lock=lock, owner=held.holder, token=held.token))

    @rule(lock=LOCKS, owner=OWNERS)
    def cancel(self, lock: str, owner: str) -> None:
        self._check(Cancel(lock=lock, owner=owner))

    @rule(lock=LOCKS)
    def whose(self, lock: str) -> None:
        self._check(Whose(lock=lock))

    @rule(lock=LOCKS, token=TOKENS, value=st.binary(max_size=2))
    def guarded(self, lock: str, token: int, value: bytes) -> None:
        self._check(Guarded(lock=lock, token=token, op=_put("k", value)))

    @rule(lock=LOCKS, pick=st.integers(0, 50), value=st.binary(max_size=2))
    def guarded_with_a_token_once_granted(self, lock: str, pick: int, value: bytes) -> None:
        assume(self.machine.last_token > 0)
        token = self.machine.last_token - pick % self.machine.last_token
        self._check(Guarded(lock=lock, token=token, op=_put("k", value)))

    @rule(data=st.binary(max_size=10))
    def garbage(self, data: bytes) -> None:
        try:
            decode_op(data)
        except ValueError:
            pass
        else:
            assume(False)
        assert _run_raw(self.machine, data).error == ERROR_BAD_COMMAND

    @rule()
    def restart_from_snapshot(self) -> None:
        restored = LockMachine(protected=self.store)
        restored.restore(self.machine.snapshot())
        assert restored.snapshot() == self.machine.snapshot()
        self.machine = restored

    @invariant()
    def same_state(self) -> None:
        assert self.machine.last_token == self.model.last_token >= self.tokens_seen
        self.tokens_seen = self.machine.last_token
        assert dict(self.store.data) == self.model.store
        assert len(self.machine) == len(self.model.locks)
        deadlines = [lk.expires_ms for lk in self.model.locks.values()]
        assert self.machine.next_deadline_ms() == min(deadlines, default=None)


TestLocksAgainstModel = LocksAgainstModel.TestCase
TestLocksAgainstModel.settings = settings(SETTINGS, max_examples=150, stateful_step_count=50)
