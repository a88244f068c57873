"""The lock and queue models: what they accept, what they refuse, and log time."""

from __future__ import annotations

from collections.abc import Hashable

from pyxos.check.objects import (
    ObjectOp,
    check_locks,
    check_queues,
    election_violations,
)


def _lock(
    client: int,
    kind: str,
    args: tuple[Hashable, ...],
    span: tuple[int, int],
    *,
    at: int,
    out: Hashable,
) -> ObjectOp:
    return ObjectOp(
        client=client,
        kind=kind,
        key="L",
        args=args,
        invoke=span[0],
        complete=span[1],
        output=out,
        time_ms=at,
    )


def _grant(
    client: int, ttl: int, span: tuple[int, int], *, at: int, token: int, wait: bool = False
) -> ObjectOp:
    """Client `client` (owner `c<client>`) acquires L for `ttl` ms and is granted it at `at`."""
    owner = f"c{client}"
    out = _out(None, owner, token, at + ttl, granted=True)
    return _lock(client, "acquire", (owner, ttl, wait), span, at=at, out=out)


def _out(
    error: str | None = None,
    holder: str | None = None,
    token: int = 0,
    expires: int = 0,
    *,
    granted: bool = False,
    position: int = 0,
    previous: str | None = None,
) -> tuple[Hashable, ...]:
    return (error, holder, token, expires, granted, position, previous)


def test_a_grant_then_a_refusal_then_a_fenced_write() -> None:
    ops = [
        _grant(1, 100, (0, 10), at=5, token=1),
        _lock(2, "acquire", ("c2", 100, False), (20, 30), at=25, out=_out("held", "c1", 1, 105)),
        _lock(1, "guarded", (1, "v1"), (40, 50), at=45, out=_out(None, "c1", 1, 105)),
    ]
    assert check_locks(ops, [5, 25, 45]).ok


def test_a_fenced_write_accepted_after_the_lease_expired_is_a_violation() -> None:
    ops = [
        _grant(1, 100, (0, 10), at=5, token=1),
        _lock(1, "guarded", (1, "v1"), (200, 210), at=205, out=_out(None, "c1", 1, 105)),
    ]
    check = check_locks(ops, [5, 205])
    assert not check.ok and check.failing_key == "L"
    assert "guarded" in check.render()


def test_a_waiter_is_granted_at_the_first_command_after_the_expiry() -> None:
    ops = [
        _grant(1, 100, (0, 10), at=5, token=1),
        _lock(
            2,
            "acquire",
            ("c2", 50, True),
            (20, 30),
            at=25,
            out=_out(None, "c1", 1, 105, position=1),
        ),
        # a clock command at 110 (no call of this history) passed the lock on to c2
        _lock(2, "whose", (), (300, 310), at=130, out=_out(None, "c2", 2, 160)),
    ]
    assert check_locks(ops, [5, 25, 110, 130]).ok
    assert not check_locks(ops, [5, 25, 105, 130]).ok  # it would have expired at 155


def test_calls_are_ordered_by_log_time_whatever_their_overlap() -> None:
    grant = _grant(1, 100, (0, 50), at=40, token=1)
    held = _lock(2, "acquire", ("c2", 100, False), (0, 50), at=30, out=_out(None, "c1", 1, 140))
    assert not check_locks([grant, held], [30, 40]).ok  # "held" at 30, before the grant at 40


def test_tokens_must_be_consecutive_grants() -> None:
    ops = [
        _grant(1, 10, (0, 10), at=5, token=1),
        _grant(2, 10, (20, 30), at=25, token=1),
    ]
    assert not check_locks(ops, [5, 25]).ok


def test_queues_are_fifo() -> None:
    def q(client: int, kind: str, args: tuple[Hashable, ...], t: int, out: Hashable) -> ObjectOp:
        return ObjectOp(
            client=client, kind=kind, key="q", args=args, invoke=t, complete=t + 1, output=out
        )

    pushes = [q(1, "push", ("a",), 0, (None, None, 1)), q(1, "push", ("b",), 2, (None, None, 2))]
    assert check_queues([*pushes, q(2, "pop", (), 4, (None, "a", 1))]).ok
    assert not check_queues([*pushes, q(2, "pop", (), 4, (None, "b", 1))]).ok
    assert not check_queues([q(2, "pop", (), 0, (None, "a", 0))]).ok
    assert check_queues([q(2, "pop", (), 0, ("empty", None, 0))]).ok


def test_two_leaders_in_one_term_are_reported() -> None:
    ops = [
        _grant(1, 100, (0, 10), at=5, token=1, wait=True),
        _grant(2, 100, (20, 30), at=25, token=1, wait=True),
    ]
    assert election_violations(ops) == ["election 'L': term 1 has leaders 'c1' and 'c2'"]
    assert election_violations(ops[:1]) == []
