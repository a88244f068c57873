"""Reading CPU time from /proc/PID/stat: the fields are counted from the command's last `)`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyxos.bench.peers.cpu import cpu_seconds, own_cpu_seconds, parse_stat_ticks, ticks_per_second

# A real line's shape: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
# cmajflt utime stime cutime cstime ...
LINE = "4242 (python3) S 1 4242 4242 0 -1 4194560 1200 0 3 0 150 25 7 9 20 0 3 0 100 0\n"


def test_utime_and_stime_are_fields_14_and_15() -> None:
    assert parse_stat_ticks(LINE) == 175


def test_a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() -> None:
    tricky = LINE.replace("(python3)", "(odd) S 9 9 (name)")
    assert parse_stat_ticks(tricky) == 175


@pytest.mark.parametrize("text", ["", "4242 python3 S 1", "4242 (python3) S 1 2 3"])
def test_text_that_is_not_a_stat_line_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a /proc/PID/stat line"):
        parse_stat_ticks(text)


def test_cpu_seconds_sums_the_processes_and_skips_those_gone(tmp_path: Path) -> None:
    for pid, line in ((10, LINE), (11, LINE.replace(" 150 25 ", " 50 0 "))):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(line)
    seconds = cpu_seconds([10, 11, 12], proc=tmp_path)
    assert seconds == pytest.approx(225 / ticks_per_second())


def test_this_process_is_readable_from_the_real_proc() -> None:
    assert cpu_seconds([os.getpid()]) >= 0.0
    assert own_cpu_seconds() > 0.0
