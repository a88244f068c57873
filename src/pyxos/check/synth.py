"""Synthetic KV histories from a seeded `Random`, for testing and benchmarking checkers.

`simulated_history` runs clients against a real, atomic store and records what they saw, so its
histories are linearizable by construction (the linearization points are the moments the store
applied each operation). `random_history` invents outputs at random, so its histories are
often not linearizable; it is meant for comparing checkers with each other.

Clients follow the `Operation` contract: one operation at a time each. A client that loses an
operation's outcome is retired and replaced by a fresh client id (as Jepsen does), since the
lost operation might still be in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

from pyxos.check.history import Operation, OpKind
from pyxos.check.model import State, apply

_KINDS: tuple[OpKind, ...] = ("get", "put", "delete", "cas")
_WEIGHTS = (4, 3, 1, 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Call:
    client: int
    kind: OpKind
    key: str
    value: str | None
    expected: str | None
    invoke: int


def _new_call(
    rng: Random, *, client: int, now: int, keys: Sequence[str], value: str, hint: State
) -> _Call:
    kind = rng.choices(_KINDS, _WEIGHTS)[0]
    key = rng.choice(keys)
    # A cas that always fails tests little; half the time expect what the key held at invoke.
    expected = hint if rng.random() < 0.5 else rng.choice((None, value))
    return _Call(
        client=client,
        kind=kind,
        key=key,
        value=value if kind in ("put", "cas") else None,
        expected=expected if kind == "cas" else None,
        invoke=now,
    )


def _finish(call: _Call, complete: int | None, output: str | None) -> Operation:
    return Operation(
        client=call.client,
        kind=call.kind,
        key=call.key,
        value=call.value,
        expected=call.expected,
        invoke=call.invoke,
        complete=complete,
        output=output if complete is not None else None,
    )


def simulated_history(
    rng: Random,
    *,
    clients: int,
    ops: int,
    keys: Sequence[str],
    values: Sequence[str] | None = None,
    unknown_rate: float = 0.0,
) -> list[Operation]:
    """A linearizable history of `ops` operations by `clients` concurrent clients.

    Written values come from `values`, or are unique (`"v1"`, `"v2"`, ...) when it is None. An
    operation's outcome is lost with probability `unknown_rate`; such an operation then takes
    effect at some later moment, or never.
    """
    store: dict[str, State] = {}
    slots: list[int] = list(range(clients))  # slot -> current client id
    next_client = clients
    # slot -> (call, output once applied, or the marker that it has not been applied yet)
    pending: dict[int, tuple[_Call, bool, str | None]] = {}
    lost: list[_Call] = []  # outcome unknown, not applied yet (may still be)
    history: list[Operation] = []
    started = 0
    now = 0
    serial = 0
    while started < ops or pending:
        # Equal timestamps happen: the checker must treat them as concurrent.
        now += rng.choice((0, 1, 1, 2))
        if lost and rng.random() < 0.1:
            call = lost.pop(rng.randrange(len(lost)))
            _, store[call.key] = apply(store.get(call.key), _finish(call, None, None))
        slot = rng.randrange(clients)
        if slot not in pending:
            if started < ops:
                serial += 1
                value = f"v{serial}" if values is None else rng.choice(values)
                key_hint = store.get(rng.choice(keys))
                call = _new_call(
                    rng, client=slots[slot], now=now, keys=keys, value=value, hint=key_hint
                )
                pending[slot] = (call, False, None)
                started += 1
            continue
        call, applied, output = pending[slot]
        if not applied:
            if rng.random() < unknown_rate:
                del pending[slot]
                history.append(_finish(call, None, None))
                if rng.random() < 0.5:
                    lost.append(call)
                slots[slot] = next_client
                next_client += 1
                continue
            output, store[call.key] = apply(store.get(call.key), _finish(call, None, None))
            pending[slot] = (call, True, output)
        else:
            del pending[slot]
            history.append(_finish(call, now, output))
    return history


def random_history(
    rng: Random,
    *,
    clients: int,
    ops: int,
    keys: Sequence[str],
    values: Sequence[str],
    unknown_rate: float = 0.0,
) -> list[Operation]:
    """`ops` operations with random, short, overlapping intervals and random outputs."""
    free_at = [0] * clients  # slot -> when its client may invoke again
    ids = list(range(clients))
    next_client = clients
    history: list[Operation] = []
    for _ in range(ops):
        slot = rng.randrange(clients)
        invoke = free_at[slot] + rng.randint(0, 3)
        value = rng.choice(values)
        hint = rng.choice((None, *values))
        call = _new_call(rng, client=ids[slot], now=invoke, keys=keys, value=value, hint=hint)
        if rng.random() < unknown_rate:
            history.append(_finish(call, None, None))
            ids[slot] = next_client
            next_client += 1
            free_at[slot] = invoke
        else:
            complete = invoke + rng.randint(0, 6)
            history.append(_finish(call, complete, rng.choice((None, *values))))
            free_at[slot] = complete + 1
    return history
