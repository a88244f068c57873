"""CPU time of processes, read from /proc/PID/stat (Linux).

Fields 14 and 15 of the stat line are the process's user and system time in clock ticks,
summed over all its threads. The command name (field 2) is in parentheses and may itself
contain spaces and parentheses, so the fields are counted from the last `)`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")
_UTIME_AFTER_COMM = 11
"""utime's index among the fields after the command name (field 14, counted from 1)."""


def parse_stat_ticks(stat: str) -> int:
    """utime + stime, in clock ticks, from the text of a /proc/PID/stat file. Raises
    `ValueError` if the text is not one."""
    end = stat.rfind(")")
    if end < 0:
        raise ValueError("not a /proc/PID/stat line: no command name")
    fields = stat[end + 1 :].split()
    if len(fields) <= _UTIME_AFTER_COMM + 1:
        raise ValueError(f"not a /proc/PID/stat line: {len(fields) + 2} fields")
    return int(fields[_UTIME_AFTER_COMM]) + int(fields[_UTIME_AFTER_COMM + 1])


def ticks_per_second() -> int:
    return os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int], *, proc: Path = PROC) -> float:
    """User + system CPU seconds the processes `pids` have used so far, together. A process
    that has gone counts 0 (its time is lost, which the caller sees as a low figure)."""
    ticks = 0
    for pid in pids:
        try:
            ticks += parse_stat_ticks((proc / str(pid) / "stat").read_text())
        except FileNotFoundError:
            continue
    return ticks / ticks_per_second()


def own_cpu_seconds() -> float:
    """This process's user + system CPU seconds, all threads (the load generator's cost)."""
    times = os.times()
    return times.user + times.system
