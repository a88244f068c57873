"""Linearizability checking of key-value client histories.

Pure and self-contained: no I/O, clocks or global randomness, no other pyxos packages. Build
`Operation`s (or `parse_jsonl` a recorded history) and call `check_history`; see
`pyxos.check.linearizability` for how the check works and docs/history-format.md for the file
format.
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

__all__ = [
    "CheckResult",
    "HistoryParseError",
    "OpKind",
    "Operation",
    "check_history",
    "dump_jsonl",
    "format_operation",
    "parse_jsonl",
]
