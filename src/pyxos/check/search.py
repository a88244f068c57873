"""The WGL search for one key, and the pruning before it.

See `pyxos.check.linearizability` for the theory of operation (steps 2 and 3 are here).

Besides completed operations (checked: their output must match) and unknown outcomes, the
search accepts *blind* completed operations: they must take effect within their interval like
any completed operation, but their output is not checked. Only counterexample shrinking uses
them, to ask "does the violation survive if we ignore what this write returned?".

The search itself takes its sequential model as a parameter (`check_sequence`), so the models of
the coordination objects (`pyxos.check.objects`) reuse it; a key of the KV store runs it with the
register model and its interchangeable lost writes, as before.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Sequence, Set
from typing import Any, Protocol

from pyxos.check.history import Operation
from pyxos.check.model import INITIAL, apply

IMPOSSIBLE: Any = object()
"""What a model's `apply` answers for an operation that cannot take effect in a state at all,
whatever its outcome (an operation stamped with a log time before the state's)."""


class TimedOp(Protocol):
    """What the search needs from an operation of any model."""

    @property
    def invoke(self) -> int: ...
    @property
    def complete(self) -> int | None: ...
    @property
    def output(self) -> object: ...


Apply = Callable[[Any, Any], tuple[Any, Any]]
"""A sequential model: `(state, op) -> (output, next_state)`; states are hashable."""


def _kv_effect(op: Operation) -> Hashable:
    return (op.kind, op.value, op.expected)


class Verdict(enum.Enum):
    LINEARIZABLE = "linearizable"
    VIOLATION = "not linearizable"
    UNDECIDED = "undecided"


def check_key(
    ops: Sequence[Operation], *, max_states: int, blind: Set[int] = frozenset()
) -> tuple[Verdict, int]:
    """Check the operations of one key: `(verdict, configurations explored)`. `blind` holds the
    indices of completed operations whose outputs are not to be checked."""
    kept = relevant(ops, blind=blind)
    return _search(
        [ops[i] for i in kept],
        [i in blind for i in kept],
        max_states,
        apply=apply,
        initial=INITIAL,
        effect=_kv_effect,
    )


def check_sequence(
    ops: Sequence[TimedOp], *, apply: Apply, initial: Hashable, max_states: int
) -> tuple[Verdict, int]:
    """Check the operations of one object against the sequential model `apply` from state
    `initial`: `(verdict, configurations explored)`. No pruning and no symmetry reduction: every
    operation is its own."""
    return _search(ops, [False] * len(ops), max_states, apply=apply, initial=initial, effect=None)


def relevant(ops: Sequence[Operation], *, blind: Set[int] = frozenset()) -> list[int]:
    """The indices of the operations that can affect the verdict (step 2 of the theory).

    The relevant values are those some checked operation returned, and, repeatedly, the value
    an unchecked cas (unknown or blind) expects if it writes a relevant value. An unknown-outcome
    write of an irrelevant value (a delete writes None) can go. Given a linearization using it,
    drop it: from there until the next unconditional write the state stays irrelevant in the
    original (a cas can only move it to a relevant value from a relevant one), so no checked
    operation runs in between (it would return an irrelevant value); the unchecked ones in
    between may now act differently, but nothing sees it, and that next unconditional write
    resets the state to what it was.
    """
    kept = [i for i, op in enumerate(ops) if op.complete is not None or op.kind != "get"]
    while True:
        values = {ops[i].output for i in kept if ops[i].complete is not None and i not in blind}
        unchecked_cas = [
            ops[i] for i in kept if ops[i].kind == "cas" and (ops[i].complete is None or i in blind)
        ]
        grew = True
        while grew:
            grew = False
            for op in unchecked_cas:
                if op.value in values and op.expected not in values:
                    values.add(op.expected)
                    grew = True
        pruned = [
            i
            for i in kept
            if ops[i].complete is not None
            or (None if ops[i].kind == "delete" else ops[i].value) in values
        ]
        if len(pruned) == len(kept):
            return kept
        kept = pruned


class _Entry:
    """A call or return entry of the search. Mutable and private to one search."""

    __slots__ = ("bit", "checked", "is_call", "known", "match", "next", "op", "prev", "requires")

    def __init__(self, op: Any, bit: int, *, is_call: bool, blind: bool) -> None:
        self.op = op
        self.bit = bit
        self.is_call = is_call
        self.known = op.complete is not None  # must be linearized before its return entry
        self.checked = self.known and not blind
        # Bits that must be linearized before this operation may be (the symmetry reduction).
        self.requires = 0
        # A call's `match` is its return and vice versa, set right after both exist; an unknown
        # outcome's call has no return and matches itself.
        self.match: _Entry = self
        self.prev: _Entry = self
        self.next: _Entry | None = None


def _search(
    ops: Sequence[Any],
    blind: Sequence[bool],
    max_states: int,
    *,
    apply: Apply,
    initial: Hashable,
    effect: Callable[[Any], Hashable] | None,
) -> tuple[Verdict, int]:
    remaining = sum(1 for op in ops if op.complete is not None)
    if remaining == 0:
        return Verdict.LINEARIZABLE, 0
    head = _build_list(ops, blind, effect)
    cache: set[tuple[int, Any]] = set()
    stack: list[tuple[_Entry, Any]] = []
    state: Any = initial
    linearized = 0
    entry = head.next
    while entry is not None:
        if entry.is_call:
            output, after = apply(state, entry.op)
            allowed = output is not IMPOSSIBLE and (output == entry.op.output or not entry.checked)
            if allowed and not entry.requires & ~linearized:
                candidate = linearized | entry.bit
                config = (candidate, after)
                if config not in cache:
                    if len(cache) >= max_states:
                        return Verdict.UNDECIDED, len(cache)
                    cache.add(config)
                    stack.append((entry, state))
                    state = after
                    linearized = candidate
                    if entry.known:
                        remaining -= 1
                        if remaining == 0:
                            return Verdict.LINEARIZABLE, len(cache)
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            if not stack:
                return Verdict.VIOLATION, len(cache)
            entry, state = stack.pop()
            linearized ^= entry.bit
            if entry.known:
                remaining += 1
            _unlift(entry)
            entry = entry.next
    # Unreachable: while a completed operation is unlinearized its return entry is in the list,
    # so the walk stops there before running off the end.
    raise AssertionError("linearizability search ran off the end of the entry list")


def _build_list(
    ops: Sequence[Any], blind: Sequence[bool], effect: Callable[[Any], Hashable] | None
) -> _Entry:
    """The entries in time order, linked from a sentinel head. Unknown outcomes with equal
    `effect` are interchangeable (None: none are)."""
    # Sort keys: (time, 0 = call / 1 = return, index); the index makes the order total. An
    # unknown outcome has no return entry: it never forces a backtrack, and the search ends
    # when the completed operations are all linearized, before the walk could reach the end.
    keyed: list[tuple[tuple[int, int, int], _Entry]] = []
    previous_alike: dict[Hashable, _Entry] = {}
    for index, op in sorted(enumerate(ops), key=lambda pair: (pair[1].invoke, pair[0])):
        call = _Entry(op, 1 << index, is_call=True, blind=blind[index])
        keyed.append(((op.invoke, 0, index), call))
        if op.complete is None:
            if effect is not None:
                alike = effect(op)
                if alike in previous_alike:
                    call.requires = previous_alike[alike].bit
                previous_alike[alike] = call
        else:
            ret = _Entry(op, 1 << index, is_call=False, blind=blind[index])
            call.match, ret.match = ret, call
            keyed.append(((op.complete, 1, index), ret))
    keyed.sort(key=lambda pair: pair[0])
    head = _Entry(ops[0], 0, is_call=False, blind=False)  # sentinel: only `next` is used
    last = head
    for _, entry in keyed:
        last.next = entry
        entry.prev = last
        last = entry
    return head


def _lift(call: _Entry) -> None:
    call.prev.next = call.next
    if call.next is not None:
        call.next.prev = call.prev
    ret = call.match
    if ret is not call:
        ret.prev.next = ret.next
        if ret.next is not None:
            ret.next.prev = ret.prev


def _unlift(call: _Entry) -> None:
    # Exact reverse of `_lift`: the neighbours' pointers still name the removed nodes' places.
    ret = call.match
    if ret is not call:
        ret.prev.next = ret
        if ret.next is not None:
            ret.next.prev = ret
    call.prev.next = call
    if call.next is not None:
        call.next.prev = call
