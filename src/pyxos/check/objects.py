"""Linearizability of the coordination objects: locks (with leases in log time) and FIFO queues.

The same WGL search as the key-value store (`pyxos.check.search.check_sequence`), with a
sequential model per kind of object; objects are independent, so each is checked alone.

An `ObjectOp` is one call on one object: its arguments, its interval, what it returned (an
output tuple whose shape the model defines, below) and, for a lock, the log time of the command:
the time the leader stamped on it, which the lock machine compares lease expiries with.

The lock model
--------------
A lock's state is its holder, token and expiry, its FIFO waiters, the last token granted and
the value of the key its fenced writes go to. The model is the machine's specification written
out: a free lock is granted to an `acquire`; a held one refuses it or queues a waiter; a release
grants the first waiter at once; tokens come from one counter; a fenced write lands only under
the current unexpired grant. It relies on two things the history must provide:

- every call's log time (`time_ms`): a linearization must not go back in log time (log time is
  monotonic in log order), and a lease is expired at a call whose time reached its expiry;
- when a lease expires with nobody calling, the lock passes to the next waiter at the log time
  of the first command of any kind at or after the expiry (the leader's clock command, or any
  other command): `log_times` lists the times of every command applied, so the model knows it.

And it assumes the history's lock is the only user of the machine's token counter, so that
tokens are exactly consecutive: a history of one lock at a time.

Queues are plain FIFO queues; a `push` writes a unique item in the simulator's workloads.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from pyxos.check.search import IMPOSSIBLE, Apply, Verdict, check_sequence

LockOutput = tuple[str | None, str | None, int, int, bool, int, str | None]
"""`(error, holder, token, expires_ms, granted, position, previous)`: the lock's answer (its
`LockResult` without the redundant fields); `previous` is what a fenced write overwrote."""
QueueOutput = tuple[str | None, str | None, int]
"""`(error, item, length)`."""

LOCK_KINDS = frozenset(("acquire", "refresh", "release", "cancel", "whose", "guarded"))
QUEUE_KINDS = frozenset(("push", "pop", "peek"))
TTL_MS_MAX = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectOp:
    """One call on the object named `key`. `args` by kind:

    acquire (owner, ttl_ms, wait) | refresh (owner, token, ttl_ms) | release (owner, token) |
    cancel (owner,) | whose () | guarded (token, value) | push (item,) | pop () | peek ()
    """

    client: int
    kind: str
    key: str
    args: tuple[Hashable, ...]
    invoke: int
    complete: int | None
    output: Hashable = None
    time_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectCheck:
    """The outcome of checking a history of objects; `ok=False` if not linearizable or
    undecided."""

    ok: bool
    checked_ops: int
    objects: int
    failing_key: str | None = None
    undecided: bool = False
    ops: tuple[ObjectOp, ...] = ()

    def render(self) -> str:
        if self.ok:
            return f"linearizable: {self.checked_ops} operations on {self.objects} objects\n"
        what = "INCONCLUSIVE" if self.undecided else "NOT LINEARIZABLE"
        lines = [f"{what}: object {self.failing_key!r}, its operations in invocation order:"]
        lines.extend(f"  {format_object_op(op)}" for op in self.ops)
        return "\n".join(lines) + "\n"


def format_object_op(op: ObjectOp) -> str:
    end = "?)" if op.complete is None else f"{op.complete}]"
    args = ", ".join(repr(a) for a in op.args)
    at = "" if op.time_ms is None else f" @{op.time_ms}ms"
    result = "outcome unknown" if op.complete is None else repr(op.output)
    return f"[{op.invoke}, {end} client {op.client}: {op.kind}({args}){at} -> {result}"


# ---- the lock model ----------------------------------------------------------------------------
# State: (now, holder, token, expires_ms, waiters, last_token, fenced); holder None when free.
LockState = tuple[Any, ...]
LOCK_INITIAL: LockState = (0, None, 0, 0, (), 0, None)


def lock_model(log_times: Sequence[int]) -> Apply:
    """The lock's sequential model, for a log whose commands were applied at `log_times`
    (sorted)."""
    times = sorted(log_times)

    def pass_on(state: LockState, at: int) -> LockState:
        now, _, _, _, waiters, last, fenced = state
        if not waiters:
            return (now, None, 0, 0, (), last, fenced)
        (owner, ttl), *rest = waiters
        return (now, owner, last + 1, at + ttl, tuple(rest), last + 1, fenced)

    def expire(state: LockState, time_ms: int) -> LockState:
        while state[1] is not None and state[3] <= time_ms:
            index = bisect_left(times, state[3])
            # The command that found the lease expired; this call itself at the latest.
            at = times[index] if index < len(times) and times[index] <= time_ms else time_ms
            state = pass_on(state, at)
        return state

    def answer(state: LockState, error: str | None = None, **extra: Any) -> LockOutput:
        _, holder, token, expires, _, _, _ = state
        return (
            error,
            holder,
            token,
            expires,
            extra.get("granted", False),
            extra.get("position", 0),
            extra.get("previous"),
        )

    def apply(state: LockState, op: ObjectOp) -> tuple[Any, LockState]:
        time_ms = op.time_ms
        if time_ms is None or time_ms < state[0]:
            return IMPOSSIBLE, state
        state = expire((time_ms, *state[1:]), time_ms)
        _, holder, token, expires, waiters, last, fenced = state
        args = op.args
        match op.kind:
            case "acquire":
                owner, ttl, wait = args
                assert isinstance(ttl, int)
                if not 1 <= ttl <= TTL_MS_MAX:
                    return answer(state, "bad_ttl"), state
                if holder is None:
                    state = (time_ms, owner, last + 1, time_ms + ttl, (), last + 1, fenced)
                    return answer(state, granted=True), state
                if holder == owner:
                    return answer(state, "held_by_you"), state
                if not wait:
                    return answer(state, "held"), state
                owners: list[Hashable] = [w for w, _ in waiters]
                if owner not in owners:
                    waiters = (*waiters, (owner, ttl))
                    owners.append(owner)
                    state = (time_ms, holder, token, expires, waiters, last, fenced)
                return answer(state, position=owners.index(owner) + 1), state
            case "refresh":
                owner, held_token, ttl = args
                assert isinstance(ttl, int)
                if not 1 <= ttl <= TTL_MS_MAX:
                    return answer(state, "bad_ttl"), state
                if holder is None or (holder, token) != (owner, held_token):
                    return answer(state, "not_holder"), state
                state = (time_ms, holder, token, time_ms + ttl, waiters, last, fenced)
                return answer(state, granted=True), state
            case "release":
                owner, held_token = args
                if holder is None or (holder, token) != (owner, held_token):
                    return answer(state, "not_holder"), state
                state = pass_on(state, time_ms)
                return answer(state), state
            case "cancel":
                (owner,) = args
                waiters = tuple(w for w in waiters if w[0] != owner)
                state = (time_ms, holder, token, expires, waiters, last, fenced)
                return answer(state), state
            case "whose":
                return answer(state), state
            case "guarded":
                held_token, value = args
                if holder is None or token != held_token:
                    return answer(state, "stale_token"), state
                state = (time_ms, holder, token, expires, waiters, last, value)
                return answer(state, previous=fenced), state
            case _:
                return IMPOSSIBLE, state

    return apply


# ---- the queue model ---------------------------------------------------------------------------
QUEUE_INITIAL: tuple[str, ...] = ()


def queue_apply(state: tuple[str, ...], op: ObjectOp) -> tuple[Any, tuple[str, ...]]:
    match op.kind:
        case "push":
            (item,) = op.args
            assert isinstance(item, str)
            after = (*state, item)
            return (None, None, len(after)), after
        case "peek":
            return (None, state[0] if state else None, len(state)), state
        case "pop":
            if not state:
                return ("empty", None, 0), state
            return (None, state[0], len(state) - 1), state[1:]
        case _:
            return IMPOSSIBLE, state


# ---- checking ----------------------------------------------------------------------------------
def check_objects(
    ops: Sequence[ObjectOp],
    *,
    model: Callable[[str], tuple[Apply, Hashable]],
    max_states: int = 200_000,
) -> ObjectCheck:
    """Check every object of `ops` with the model `model(key)` gives: `(apply, initial)`."""
    by_key: dict[str, list[ObjectOp]] = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    undecided: str | None = None
    for key in sorted(by_key):
        apply, initial = model(key)
        verdict, _ = check_sequence(
            by_key[key], apply=apply, initial=initial, max_states=max_states
        )
        if verdict is Verdict.VIOLATION:
            failing = tuple(sorted(by_key[key], key=lambda op: (op.invoke, op.client)))
            return ObjectCheck(
                ok=False, checked_ops=len(ops), objects=len(by_key), failing_key=key, ops=failing
            )
        if verdict is Verdict.UNDECIDED and undecided is None:
            undecided = key
    if undecided is not None:
        return ObjectCheck(
            ok=False,
            checked_ops=len(ops),
            objects=len(by_key),
            failing_key=undecided,
            undecided=True,
        )
    return ObjectCheck(ok=True, checked_ops=len(ops), objects=len(by_key))


def check_locks(ops: Sequence[ObjectOp], log_times: Sequence[int]) -> ObjectCheck:
    """Check lock histories (one lock per history, see the module's docstring)."""
    apply = lock_model(log_times)
    return check_objects(ops, model=lambda key: (apply, LOCK_INITIAL))


def check_queues(ops: Sequence[ObjectOp]) -> ObjectCheck:
    return check_objects(ops, model=lambda key: (queue_apply, QUEUE_INITIAL))


def election_violations(ops: Sequence[ObjectOp]) -> list[str]:
    """Leader election on a lock: at most one leader per term (a term is a token), and each
    client's terms only grow in real time. Read from what the calls returned."""
    leader_of: dict[tuple[str, int], str] = {}
    found: list[str] = []
    last_term: dict[int, tuple[int, int]] = {}  # client -> (term, completed at)
    for op in sorted(ops, key=lambda op: (op.complete or 0, op.client)):
        if op.complete is None or not isinstance(op.output, tuple) or op.kind not in LOCK_KINDS:
            continue
        holder, token = op.output[1], op.output[2]
        if holder is None:
            continue
        assert isinstance(holder, str) and isinstance(token, int)
        seen = leader_of.setdefault((op.key, token), holder)
        if seen != holder:
            found.append(f"election {op.key!r}: term {token} has leaders {seen!r} and {holder!r}")
        if op.args and op.args[0] == holder:
            previous = last_term.get(op.client)
            if previous is not None and previous[0] > token and previous[1] < op.invoke:
                found.append(
                    f"election {op.key!r}: client {op.client} saw term {token} after term "
                    f"{previous[0]}"
                )
            last_term[op.client] = (token, op.complete)
    return found
