"""`check_history` on hand-written histories, its result, and its counterexamples."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from random import Random

import pytest

from pyxos.check import CheckResult, Operation, check_history
from pyxos.check.bruteforce import is_linearizable
from pyxos.check.synth import simulated_history

# Positional shorthand keeps the histories below readable as tables:
# put(client, key, value, invoke, complete, prev), get(client, key, invoke, complete, read), ...


def put(  # noqa: PLR0917
    client: int, key: str, value: str, invoke: int, complete: int | None, prev: str | None = None
) -> Operation:
    return Operation(
        client=client, kind="put", key=key, value=value, invoke=invoke, complete=complete,
        output=prev,
    )  # fmt: skip


def get(
    client: int, key: str, invoke: int, complete: int | None, read: str | None = None
) -> Operation:
    return Operation(
        client=client, kind="get", key=key, invoke=invoke, complete=complete, output=read
    )


def delete(
    client: int, key: str, invoke: int, complete: int | None, prev: str | None = None
) -> Operation:
    return Operation(
        client=client, kind="delete", key=key, invoke=invoke, complete=complete, output=prev
    )


def cas(  # noqa: PLR0917
    client: int, key: str, expected: str | None, value: str, invoke: int, complete: int | None,
    prev: str | None = None,
) -> Operation:  # fmt: skip
    return Operation(
        client=client, kind="cas", key=key, expected=expected, value=value, invoke=invoke,
        complete=complete, output=prev,
    )  # fmt: skip


def verdict(ops: Sequence[Operation]) -> bool:
    result = check_history(ops)
    # Every hand-written history here is tiny: the reference checker must agree.
    assert result.ok == is_linearizable(ops), ops
    return result.ok


# --- small histories, completed operations only ---------------------------------------------


def test_the_empty_history_is_linearizable() -> None:
    assert check_history([]) == CheckResult(ok=True, checked_ops=0, keys=0)


def test_sequential_operations_must_see_each_other() -> None:
    assert verdict([put(1, "k", "a", 0, 1), get(1, "k", 2, 3, "a")])
    assert not verdict([put(1, "k", "a", 0, 1), get(1, "k", 2, 3, None)])
    assert not verdict([put(1, "k", "a", 0, 1), get(2, "k", 2, 3, "b")])


def test_concurrent_operations_may_take_effect_in_either_order() -> None:
    write = put(1, "k", "a", 0, 10)
    assert verdict([write, get(2, "k", 2, 3, None)])
    assert verdict([write, get(2, "k", 2, 3, "a")])
    # ...but once a read saw the new value, a later read may not see the old one.
    assert not verdict([write, get(2, "k", 2, 3, "a"), get(3, "k", 4, 5, None)])


def test_touching_intervals_are_concurrent() -> None:
    # The read was invoked at the very instant the write completed.
    assert verdict([put(1, "k", "a", 0, 10), get(2, "k", 10, 20, None)])
    assert not verdict([put(1, "k", "a", 0, 10), get(2, "k", 11, 20, None)])


def test_writes_report_the_previous_value() -> None:
    assert verdict([put(1, "k", "a", 0, 1), put(1, "k", "b", 2, 3, "a"), delete(1, "k", 4, 5, "b")])
    assert not verdict([put(1, "k", "a", 0, 1), put(1, "k", "b", 2, 3, None)])
    assert not verdict([put(1, "k", "a", 0, 1), delete(1, "k", 2, 3, None)])


def test_cas_swaps_only_on_a_match() -> None:
    base = put(1, "k", "a", 0, 1)
    assert verdict([base, cas(2, "k", "a", "b", 2, 3, "a"), get(2, "k", 4, 5, "b")])
    assert verdict([base, cas(2, "k", "x", "b", 2, 3, "a"), get(2, "k", 4, 5, "a")])
    assert not verdict([base, cas(2, "k", "x", "b", 2, 3, "a"), get(2, "k", 4, 5, "b")])
    # Two racing cas on the same expected value: only one may win.
    assert verdict([base, cas(2, "k", "a", "b", 2, 9, "a"), cas(3, "k", "a", "c", 2, 9, "b")])
    assert not verdict([base, cas(2, "k", "a", "b", 2, 9, "a"), cas(3, "k", "a", "c", 2, 9, "a")])


def test_keys_are_independent() -> None:
    ops = [
        put(1, "a", "1", 0, 1),
        get(2, "b", 2, 3, None),
        put(2, "b", "2", 4, 5),
        get(1, "a", 6, 7, "1"),
    ]
    assert verdict(ops)
    assert not verdict([*ops, get(3, "b", 8, 9, "1")])  # "1" was written to "a", not "b"


def test_the_input_order_does_not_matter() -> None:
    ops = [put(1, "k", "a", 0, 10), get(2, "k", 20, 30, "a"), put(3, "k", "b", 12, 15, "a")]
    rng = Random(7)
    for _ in range(10):
        rng.shuffle(ops)
        assert not verdict(ops)  # "b" replaced "a" before the read


# --- unknown outcomes ------------------------------------------------------------------------


def test_an_unknown_write_that_must_have_happened() -> None:
    # Only the lost put can explain the read of "b".
    ops = [put(1, "k", "a", 0, 10), put(2, "k", "b", 20, None), get(3, "k", 30, 40, "b")]
    assert verdict(ops)
    assert not verdict([ops[0], ops[2]])


def test_an_unknown_write_that_must_never_have_happened() -> None:
    # The lost put of "b" cannot have taken effect before client 1's put, which overwrote "a",
    # nor before the final read, which saw "c"; it never happened (or happened afterwards).
    ops = [
        put(1, "k", "a", 0, 10),
        put(2, "k", "b", 15, None),
        put(1, "k", "c", 40, 50, "a"),
        get(3, "k", 60, 70, "c"),
    ]
    assert verdict(ops)


def test_an_unknown_write_takes_effect_at_most_once() -> None:
    ops = [
        put(1, "k", "a", 0, 10),
        put(2, "k", "b", 5, None),
        get(3, "k", 20, 30, "a"),
        get(3, "k", 40, 50, "b"),
        get(3, "k", 60, 70, "a"),  # would need "a" written again after "b"
    ]
    assert not verdict(ops)
    assert verdict(ops[:4])


def test_an_unknown_write_cannot_take_effect_before_its_invocation() -> None:
    assert not verdict([get(1, "k", 0, 10, "a"), put(2, "k", "a", 20, None)])
    assert verdict([get(1, "k", 0, 20, "a"), put(2, "k", "a", 20, None)])


def test_identical_unknown_writes_are_each_usable_once() -> None:
    # Two lost puts of "a" explain two separate returns to "a"; one of them cannot.
    lost = [put(2, "k", "a", 1, None), put(4, "k", "a", 2, None)]
    reads = [
        get(3, "k", 10, 11, "a"),
        put(1, "k", "b", 12, 13, "a"),
        get(3, "k", 14, 15, "a"),
        put(1, "k", "c", 16, 17, "a"),
        get(3, "k", 18, 19, "c"),
    ]
    assert verdict(lost + reads)
    assert not verdict(lost[:1] + reads)


def test_unknown_reads_are_ignored() -> None:
    ops = [put(1, "k", "a", 0, 10), get(2, "k", 20, None, "nonsense")]
    assert check_history(ops).ok


def test_an_unknown_cas_applies_only_on_a_match() -> None:
    base = [put(1, "k", "a", 0, 1), cas(2, "k", "x", "b", 2, None)]
    assert not verdict([*base, get(3, "k", 5, 6, "b")])
    assert verdict([put(1, "k", "x", 0, 1), cas(2, "k", "x", "b", 2, None), get(3, "k", 5, 6, "b")])


# --- the result --------------------------------------------------------------------------------


def test_a_linearizable_result_counts_operations_and_keys() -> None:
    ops = [put(1, "a", "1", 0, 1), put(1, "b", "1", 2, 3), get(2, "a", 4, None)]
    result = check_history(ops)
    assert result == CheckResult(ok=True, checked_ops=3, keys=2)
    assert result.render() == "linearizable: 3 operations on 2 keys\n"


def test_a_violation_names_the_key_and_shows_a_counterexample() -> None:
    ops = [
        put(1, "fine", "1", 0, 10),
        get(2, "fine", 20, 30, "1"),
        put(1, "bad", "a", 0, 10),
        put(2, "bad", "b", 20, 30, "a"),
        get(3, "bad", 40, 50, "a"),
    ]
    result = check_history(ops)
    assert not result.ok and not result.undecided
    assert (result.checked_ops, result.keys, result.failing_key) == (5, 2, "bad")
    assert result.counterexample == (ops[2], ops[3], ops[4])
    assert result.context == (ops[2], ops[3])  # only when the writes happened matters
    assert result.minimal
    assert result.render() == (
        'NOT LINEARIZABLE: 5 operations on 2 keys; key "bad" has no valid linearization.\n'
        'Minimal counterexample (3 operations on key "bad", in time order):\n'
        '  * [0, 10] client 1: put("bad", "a") -> prev absent\n'
        '  * [20, 30] client 2: put("bad", "b") -> prev "a"\n'
        '    [40, 50] client 3: get("bad") -> read "a"\n'
        "No order of these fits their intervals and results, whatever the key's other "
        "operations did. Relaxing any one of them makes one possible: dropping a read, ignoring "
        "what a write returned, or letting a write marked * (whose result plays no part) take "
        "effect at any time after its invocation, or never.\n"
    )


def test_the_first_failing_key_in_sorted_order_is_reported() -> None:
    ops = [get(1, "z", 0, 1, "ghost"), get(1, "m", 2, 3, "ghost"), get(1, "a", 4, 5, None)]
    assert check_history(ops).failing_key == "m"


def test_running_out_of_budget_is_a_failure_not_a_pass() -> None:
    ops = [put(1, "k", "a", 0, 10), get(2, "k", 20, 30, "a"), put(2, "k", "b", 40, 50, "a")]
    result = check_history(ops, max_states=1)
    assert (result.ok, result.undecided, result.failing_key) == (False, True, "k")
    assert result.counterexample == ()
    assert result.render().startswith("INCONCLUSIVE: 3 operations on 1 key; ")
    assert "max_states" in result.render()
    assert check_history(ops, max_states=3).ok


def test_a_decided_violation_is_preferred_to_an_undecided_key() -> None:
    hard = [put(1, "a", "1", 0, 10), get(2, "a", 20, 30, "1"), get(2, "a", 40, 50, "1")]
    bad = [get(1, "b", 0, 1, "ghost")]
    result = check_history(hard + bad, max_states=2)
    assert (result.ok, result.undecided, result.failing_key) == (False, False, "b")


def test_max_states_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_states"):
        check_history([], max_states=0)


# --- counterexamples -----------------------------------------------------------------------


def _free(op: Operation) -> Operation:
    return dataclasses.replace(op, complete=None, output=None)


def assert_counterexample_is_1_minimal(ops: Sequence[Operation], result: CheckResult) -> None:
    """Check the promise of `CheckResult` with the brute-force checker: the counterexample is a
    sub-history of the failing key that is not linearizable, whatever the key's other operations
    did; relaxing any one of its operations by one step makes it linearizable."""
    assert result.failing_key is not None and result.minimal
    key_ops = [op for op in ops if op.key == result.failing_key]
    shown = list(result.counterexample)
    assert shown and all(op in key_ops for op in shown)
    assert all(op in shown and op.kind != "get" for op in result.context)
    assert not is_linearizable(shown)

    def config(core: list[Operation], pinned: list[Operation]) -> tuple[list[Operation], set[int]]:
        # The core as recorded, pinned writes unchecked, every other write of the key lost.
        others = [
            _free(op) for op in key_ops if op not in core and op not in pinned and op.kind != "get"
        ]
        return core + pinned + others, set(range(len(core), len(core) + len(pinned)))

    core = [op for op in shown if op not in result.context]
    pinned = list(result.context)
    history, blind = config(core, pinned)
    assert not is_linearizable(history, blind=blind)
    for op in core:
        rest = [other for other in core if other is not op]
        one_step = [op] if op.kind != "get" else []  # a write is pinned, a read dropped
        history, blind = config(rest, pinned + one_step)
        assert is_linearizable(history, blind=blind), f"relaxing {op} keeps the violation"
    for op in pinned:
        history, blind = config(core, [other for other in pinned if other is not op])
        assert is_linearizable(history, blind=blind), f"freeing {op} keeps the violation"


def test_a_stale_read_keeps_the_write_that_makes_it_stale() -> None:
    # Plain removal would shrink this to a read of "a" that nobody wrote; the counterexample
    # keeps both writes (their timing) and the read.
    ops = [put(1, "k", "a", 0, 10), put(2, "k", "b", 20, 30, "a"), get(3, "k", 40, 50, "a")]
    result = check_history(ops)
    assert result.counterexample == tuple(ops)
    assert result.context == (ops[0], ops[1])
    assert_counterexample_is_1_minimal(ops, result)


def test_the_counterexample_leaves_out_what_does_not_matter() -> None:
    ops = [
        put(1, "k", "a", 0, 10),
        get(2, "k", 11, 12, "a"),
        put(3, "k", "x", 13, None),
        get(2, "k", 14, 15, "a"),
        cas(1, "k", "a", "b", 20, 30, "a"),
        get(2, "k", 31, 32, "b"),
        put(1, "k", "c", 40, 50, "b"),
        get(2, "k", 60, 70, "b"),  # stale: "c" was written at 40..50
        get(3, "k", 80, 90, "c"),
    ]
    result = check_history(ops)
    # The cas stays (pinned): were it free to take effect later, after the put of "c", "b"
    # could be current again at 60..70.
    assert result.counterexample == (ops[4], ops[6], ops[7])
    assert result.context == (ops[4], ops[6])
    assert_counterexample_is_1_minimal(ops, result)


def test_a_lost_update_keeps_both_writes_and_what_they_returned() -> None:
    ops = [put(1, "k", "a", 0, 10), put(1, "k", "b", 20, 40, "a"), put(2, "k", "c", 22, 38, "a")]
    result = check_history(ops)
    assert result.counterexample == tuple(ops[1:])
    assert result.context == ()
    assert_counterexample_is_1_minimal(ops, result)


def test_generated_counterexamples_are_1_minimal() -> None:
    rng = Random(2024)
    checked = 0
    while checked < 150:
        history = simulated_history(
            rng, clients=rng.randint(2, 3), ops=rng.randint(3, 7), keys=("k",), values=("a", "b"),
            unknown_rate=0.2,
        )  # fmt: skip
        done = [i for i, op in enumerate(history) if op.complete is not None]
        if not done:
            continue
        i = rng.choice(done)
        history[i] = dataclasses.replace(history[i], output=rng.choice((None, "a", "b", "c")))
        result = check_history(history)
        if not result.ok:
            assert_counterexample_is_1_minimal(history, result)
            checked += 1


# --- scale -------------------------------------------------------------------------------------


def test_a_400_operation_simulated_history_checks_correctly() -> None:
    keys = [f"k{i}" for i in range(10)]
    ops = simulated_history(Random(400), clients=8, ops=400, keys=keys, unknown_rate=0.05)
    assert len(ops) == 400 and len({op.key for op in ops}) == 10
    assert sum(op.complete is None for op in ops) > 5
    assert check_history(ops) == CheckResult(ok=True, checked_ops=400, keys=10)

    # A read of a value nobody wrote, in the middle of it, is caught and isolated.
    i = next(i for i in range(200, 400) if ops[i].kind == "get" and ops[i].complete is not None)
    broken = [*ops]
    broken[i] = dataclasses.replace(ops[i], output="never-written")
    result = check_history(broken)
    assert (result.ok, result.failing_key) == (False, ops[i].key)
    assert result.counterexample == (broken[i],)
