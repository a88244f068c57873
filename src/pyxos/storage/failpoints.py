"""Failpoints: named places where tests make the storage layer fail on purpose.

A failpoint is armed from the environment, `PYXOS_FAILPOINTS="fsync_error@5,torn_write@2"`, read
once on first use, or from a test with `enable("fsync_error", after=5)`. `name@N` lets the first
N evaluations pass and fires on every later one (a dead disk stays dead); `name` alone fires at
once. The storage code asks `should_fire(name)` just before the operation it guards.

Known names:

- `fsync_error`: every fsync / fdatasync the storage layer issues raises `OSError(EIO)` instead.
- `torn_write`: a write to a log segment writes only the first half of its bytes, then the
  process kills itself with SIGKILL (a crash in the middle of a write, for the kill -9 tests).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

ENV_VAR = "PYXOS_FAILPOINTS"
FSYNC_ERROR = "fsync_error"
TORN_WRITE = "torn_write"


@dataclass(slots=True)
class _Armed:
    passes_left: int


_lock = threading.Lock()
_armed: dict[str, _Armed] = {}
_env_loaded: list[bool] = []  # non-empty once the environment was read


def parse(spec: str) -> dict[str, int]:
    """Parse `"a@3,b"` into `{"a": 3, "b": 0}`. Raises `ValueError` on a malformed entry."""
    result: dict[str, int] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, _, after = entry.partition("@")
        if not name or (after and not after.isdigit()):
            raise ValueError(f"bad failpoint {entry!r}: expected NAME or NAME@N")
        result[name] = int(after) if after else 0
    return result


def _load_env() -> None:
    if not _env_loaded:
        _env_loaded.append(True)
        for name, after in parse(os.environ.get(ENV_VAR, "")).items():
            _armed.setdefault(name, _Armed(passes_left=after))


def enable(name: str, *, after: int = 0) -> None:
    """Arm `name`: the first `after` evaluations pass, every later one fires."""
    with _lock:
        _load_env()
        _armed[name] = _Armed(passes_left=after)


def disable(name: str) -> None:
    with _lock:
        _load_env()
        _armed.pop(name, None)


def clear() -> None:
    """Disarm everything, including what the environment armed."""
    with _lock:
        _load_env()
        _armed.clear()


def should_fire(name: str) -> bool:
    """Evaluate failpoint `name` once: True if the guarded operation must fail now."""
    with _lock:
        _load_env()
        armed = _armed.get(name)
        if armed is None:
            return False
        if armed.passes_left > 0:
            armed.passes_left -= 1
            return False
        return True
