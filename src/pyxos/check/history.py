"""Client histories of a key-value store: the operations, their validation, and JSONL.

A history is a collection of `Operation`s, each one client call with the interval during which
it was in flight (`invoke` .. `complete`) and what it returned. `complete is None` means the
client never learned the outcome (timeout, crash): the operation may have taken effect at any
time after its invocation, or never.

Every `Operation` is checked when it is built, so a malformed one cannot reach the checker.
`parse_jsonl` and `dump_jsonl` convert to and from the line format described in
docs/history-format.md; they work on strings, and the CLI does the file I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, assert_never, cast, get_args

import msgspec

OpKind = Literal["get", "put", "delete", "cas"]
OP_KINDS: frozenset[str] = frozenset(get_args(OpKind))


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """One client call on one key.

    `output` is what the call returned: the value read for `get`, the key's previous value for
    `put`, `delete` and `cas` (None = the key was absent). It is ignored when `complete` is None.
    """

    client: int
    kind: OpKind
    key: str
    value: str | None = None
    expected: str | None = None
    invoke: int
    complete: int | None
    output: str | None = None

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem is not None:
            raise ValueError(f"invalid operation ({problem}): {self!r}")


class _Fields(Protocol):
    # What validation reads; both `Operation` and a parsed JSONL line provide it.
    @property
    def client(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str | None: ...
    @property
    def expected(self) -> str | None: ...
    @property
    def invoke(self) -> int: ...
    @property
    def complete(self) -> int | None: ...
    @property
    def output(self) -> str | None: ...


def _problem(op: _Fields) -> str | None:
    """Why `op` is not a valid operation, or None if it is."""
    # `bool` is an `int` subclass; a `True` timestamp is always a bug in the producer.
    for name in ("client", "invoke"):
        field = getattr(op, name)
        if not isinstance(field, int) or isinstance(field, bool):
            return f"{name} must be an integer"
    if op.complete is not None and (
        not isinstance(op.complete, int) or isinstance(op.complete, bool)
    ):
        return "complete must be an integer or None"
    if op.kind not in OP_KINDS:
        return f"kind must be one of {sorted(OP_KINDS)}, not {op.kind!r}"
    if not isinstance(op.key, str):
        return "key must be a string"
    for name in ("value", "expected", "output"):
        field = getattr(op, name)
        if field is not None and not isinstance(field, str):
            return f"{name} must be a string or None"
    if op.complete is not None and op.complete < op.invoke:
        return f"complete {op.complete} is before invoke {op.invoke}"
    if op.kind in ("put", "cas") and op.value is None:
        return f"{op.kind} needs a value (the value written)"
    if op.kind in ("get", "delete") and op.value is not None:
        return f"{op.kind} takes no value"
    # A stray `expected` on a put would silently mean nothing; better to reject the history.
    if op.kind != "cas" and op.expected is not None:
        return f"{op.kind} takes no expected value (only cas does)"
    return None


class HistoryParseError(ValueError):
    """A JSONL history line that is not a valid operation. `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class _Line(msgspec.Struct, forbid_unknown_fields=True):
    # Unknown fields are rejected: a misspelt "output" would otherwise read as null and change
    # the verdict without any warning.
    client: int
    kind: str  # checked by `_problem`, whose message lists the valid kinds
    key: str
    invoke: int
    complete: int | None = None
    value: str | None = None
    expected: str | None = None
    output: str | None = None


_DECODER = msgspec.json.Decoder(_Line)


def parse_jsonl(text: str) -> list[Operation]:
    """Parse a JSONL history. Blank lines and lines starting with `#` are skipped.

    Raises `HistoryParseError` (a `ValueError`) naming the first bad line.
    """
    ops: list[Operation] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            rec = _DECODER.decode(line)
        except msgspec.ValidationError as exc:
            raise HistoryParseError(number, f"invalid operation: {exc}") from exc
        except ValueError as exc:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            raise HistoryParseError(number, f"not a JSON object: {exc}") from exc
        # Checked here first so the message is the short reason, not the repr of an object the
        # user never wrote.
        problem = _problem(rec)
        if problem is not None:
            raise HistoryParseError(number, f"invalid operation: {problem}")
        ops.append(
            Operation(
                client=rec.client,
                kind=cast(OpKind, rec.kind),
                key=rec.key,
                value=rec.value,
                expected=rec.expected,
                invoke=rec.invoke,
                complete=rec.complete,
                output=rec.output,
            )
        )
    return ops


def dump_jsonl(ops: Iterable[Operation]) -> str:
    """Serialise operations, one JSON object per line, in the given order.

    Null `value`, `expected` and `output` are omitted; `complete` is always written so that an
    unknown outcome is visible as `"complete": null`.
    """
    lines = []
    for op in ops:
        record: dict[str, object] = {"client": op.client, "kind": op.kind, "key": op.key}
        if op.value is not None:
            record["value"] = op.value
        if op.expected is not None:
            record["expected"] = op.expected
        record["invoke"] = op.invoke
        record["complete"] = op.complete
        if op.output is not None:
            record["output"] = op.output
        lines.append(msgspec.json.encode(record).decode())
    return "".join(line + "\n" for line in lines)


def format_value(value: str | None) -> str:
    """A value as shown in reports: JSON-quoted, or `absent` for None."""
    return "absent" if value is None else json.dumps(value)


def format_operation(op: Operation) -> str:
    """One line for humans, e.g. `[1000, 1450] client 3: cas(k1, "a" -> "b") -> prev "a"`."""
    end = "?)" if op.complete is None else f"{op.complete}]"
    key = json.dumps(op.key)
    match op.kind:
        case "get":
            call = f"get({key})"
        case "put":
            call = f"put({key}, {format_value(op.value)})"
        case "delete":
            call = f"delete({key})"
        case "cas":
            call = f"cas({key}, {format_value(op.expected)} -> {format_value(op.value)})"
        case _:
            assert_never(op.kind)
    if op.complete is None:
        result = "outcome unknown"
    elif op.kind == "get":
        result = f"read {format_value(op.output)}"
    else:
        result = f"prev {format_value(op.output)}"
    return f"[{op.invoke}, {end} client {op.client}: {call} -> {result}"
