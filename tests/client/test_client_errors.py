"""The lease errors say what happened in plain words: who holds the lock, with which token,
and when the lease ends on this machine's clock; never a `None`."""

from __future__ import annotations

import re
import time

from pyxos.client.coordination import LeaseInfo
from pyxos.client.errors import (
    HeldByYou,
    LockHeld,
    LockWaitTimeout,
    NotHolder,
    StaleToken,
    expiry_text,
)

HELD = LeaseInfo(lock="db", holder="alice", token=7, expires_ms=123_456_789, remaining_ms=9_800)
FREE = LeaseInfo(lock="db", holder=None, token=None, expires_ms=None, remaining_ms=None)
AT = r"\d\d:\d\d:\d\d"


def test_a_held_lock_says_who_holds_it_and_until_when() -> None:
    message = str(LockHeld(HELD))
    pattern = rf"lock 'db' is held by 'alice' with token 7 \(it expires in 9\.8 s, at {AT}\)"
    assert re.fullmatch(pattern, message), message
    assert "123456789" not in message  # log time means nothing to a person
    waited = str(LockWaitTimeout(HELD))
    assert waited.startswith("gave up waiting for lock 'db' (the wait is cancelled): it is held")
    assert str(HeldByYou(HELD)).endswith(": refresh it instead")


def test_a_free_lock_is_called_free_not_none() -> None:
    for error in (NotHolder(FREE), StaleToken(FREE), LockWaitTimeout(FREE)):
        assert "None" not in str(error), error
        assert "free" in str(error)
    assert str(NotHolder(FREE)) == (
        "not the holder of lock 'db' (never held, or the lease expired or was released): it is free"
    )
    assert str(StaleToken(FREE)) == "lock 'db' is free; nothing was written"


def test_expiry_is_a_clock_time_with_the_date_when_not_today() -> None:
    noon = time.mktime((2024, 5, 17, 12, 0, 0, 0, 0, -1))
    assert expiry_text(90_500, now_s=noon) == "in 1 min 30 s, at 12:01:30"
    assert expiry_text(850, now_s=noon) == "in 850 ms, at 12:00:00"
    assert expiry_text(13 * 3600_000, now_s=noon) == "in 13 h 0 min, at 2024-05-18 01:00:00"
