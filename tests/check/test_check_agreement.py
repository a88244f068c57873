"""The WGL checker agrees with the brute-force reference on many small generated histories.

The reference shares no code with the checker beyond `Operation`: no partitioning by key, no
pruning, no symmetry reduction, its own copy of the KV semantics. Agreement here covers all
of those shortcuts.
"""

from __future__ import annotations

import dataclasses
from random import Random

from pyxos.check import Operation, check_history
from pyxos.check.bruteforce import is_linearizable
from pyxos.check.search import Verdict, check_key
from pyxos.check.synth import random_history, simulated_history


def _random_small_history(rng: Random) -> list[Operation]:
    return random_history(
        rng,
        clients=rng.randint(1, 3),
        ops=rng.randint(1, 7),
        keys=("a", "b")[: rng.randint(1, 2)],
        # One value most of the time: random outputs then often make sense, so both verdicts
        # are common.
        values=("x",) if rng.random() < 0.7 else ("x", "y"),
        unknown_rate=rng.choice((0.0, 0.25, 0.5)),
    )


def test_agreement_on_random_histories() -> None:
    rng = Random(20240611)
    verdicts = {True: 0, False: 0}
    with_unknown = 0
    total = 1500
    for _ in range(total):
        ops = _random_small_history(rng)
        expected = is_linearizable(ops)
        assert check_history(ops).ok == expected, ops
        verdicts[expected] += 1
        with_unknown += any(op.complete is None for op in ops)
    # Not vacuous: both verdicts, and unknown outcomes, are common.
    assert verdicts[True] >= total * 0.2
    assert verdicts[False] >= total * 0.2
    assert with_unknown >= total * 0.3


def test_simulated_linearizable_histories_pass() -> None:
    rng = Random(99)
    for _ in range(300):
        ops = simulated_history(
            rng,
            clients=rng.randint(1, 4),
            ops=rng.randint(1, 8),
            keys=("a", "b")[: rng.randint(1, 2)],
            values=("x", "y") if rng.random() < 0.5 else None,
            unknown_rate=rng.choice((0.0, 0.3)),
        )
        assert is_linearizable(ops), ops
        assert check_history(ops).ok, ops


def test_agreement_on_simulated_histories_with_one_output_mutated() -> None:
    rng = Random(7)
    verdicts = {True: 0, False: 0}
    for _ in range(600):
        ops = simulated_history(
            rng,
            clients=rng.randint(2, 4),
            ops=rng.randint(2, 8),
            keys=("a", "b")[: rng.randint(1, 2)],
            values=("x", "y"),
            unknown_rate=rng.choice((0.0, 0.3)),
        )
        done = [i for i, op in enumerate(ops) if op.complete is not None]
        if not done:
            continue
        i = rng.choice(done)
        wrong = rng.choice([v for v in (None, "x", "y", "z") if v != ops[i].output])
        ops[i] = dataclasses.replace(ops[i], output=wrong)
        expected = is_linearizable(ops)
        assert check_history(ops).ok == expected, ops
        verdicts[expected] += 1
    assert verdicts[False] > verdicts[True] > 0  # most mutations break the history, not all


def test_agreement_with_unchecked_outputs() -> None:
    # Shrinking counterexamples relies on "blind" operations: placed within their interval,
    # output unchecked. The pruning rules must stay sound with them.
    rng = Random(5)
    verdicts = {True: 0, False: 0}
    for _ in range(800):
        ops = random_history(
            rng,
            clients=rng.randint(1, 3),
            ops=rng.randint(1, 7),
            keys=("k",),
            values=("x", "y"),
            unknown_rate=rng.choice((0.0, 0.3, 0.6)),
        )
        blind = frozenset(
            i for i, op in enumerate(ops) if op.complete is not None and rng.random() < 0.5
        )
        expected = is_linearizable(ops, blind=blind)
        verdict, _ = check_key(ops, max_states=1_000_000, blind=blind)
        assert verdict is (Verdict.LINEARIZABLE if expected else Verdict.VIOLATION), (ops, blind)
        verdicts[expected] += 1
    assert min(verdicts.values()) >= 100
