"""Linearizability checking of key-value client histories, and of locks and queues.

Pure and self-contained: no I/O, clocks or global randomness, no other pyxos packages. Build
`Operation`s (or `parse_jsonl` a recorded history) and call `check_history`; see
`pyxos.check.linearizability` for how the check works and docs/history-format.md for the file
format. Histories of locks and queues are `ObjectOp`s, checked by `check_locks` and
`check_queues` (`pyxos.check.objects`).
"""

from pyxos.check.history import (
    HistoryParseError,
    Operation,
    OpKind,
    dump_jsonl,
    format_operation,
    parse_jsonl,
)
from pyxos.check.linearizability import CheckResult, check_history
from pyxos.check.objects import ObjectCheck, ObjectOp, check_locks, check_queues

__all__ = [
    "CheckResult",
    "HistoryParseError",
    "ObjectCheck",
    "ObjectOp",
    "OpKind",
    "Operation",
    "check_history",
    "check_locks",
    "check_queues",
    "dump_jsonl",
    "format_operation",
    "parse_jsonl",
]
