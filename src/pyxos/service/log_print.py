"""The committed log as text, one slot per line: GoPaxos' `/log/print`, for people and for
`pyxos log dump` / `pyxos check logs`, which compare these lines across nodes.

The format (pinned by tests; tools compare lines byte for byte):

    {slot} {batch}          batch: `noop` if empty, else its commands joined by "; "
    {slot} UNKNOWN          a slot this node does not hold (before its snapshot, or too old)

A command is `{client_id}.{seq} {op}`, and an op one of

    put {key}={value}    del {key}    cas {key} {expected}->{value}    get {key}
    noop                 list {prefix} {limit}                         bad {hex of the bytes}
    list {prefix} {limit} after {key}      (a list with a cursor)

A value (and `expected`, and a key that is not plain) is Python's `repr` of its bytes decoded
as UTF-8, where a byte that is not UTF-8 shows as `\\udcXX` (the `surrogateescape` handler),
so two different values never render alike and `ast.literal_eval(text).encode("utf-8",
"surrogateescape")` gives the bytes back. `expected` is `None` when the key must be absent. A
plain key (letters, digits and `_.:/@+-`) is printed as it is.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from typing import assert_never

from pyxos.core.commands import Batch, Command
from pyxos.core.ids import Slot
from pyxos.machines.kv import Cas, Delete, Get, List, Noop, Put, decode_op

UNKNOWN = "UNKNOWN"
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.:/@+\-]+")


def render_value(value: bytes | None) -> str:
    if value is None:
        return "None"
    return repr(value.decode("utf-8", "surrogateescape"))


def render_key(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) else repr(key)


def render_op(op: bytes) -> str:
    """One operation as text; bytes that are not an operation render as `bad {hex}`."""
    try:
        decoded = decode_op(op)
    except ValueError:
        return f"bad {op.hex()}"
    match decoded:
        case Put(key=key, value=value):
            return f"put {render_key(key)}={render_value(value)}"
        case Delete(key=key):
            return f"del {render_key(key)}"
        case Cas(key=key, expected=expected, value=value):
            return f"cas {render_key(key)} {render_value(expected)}->{render_value(value)}"
        case Get(key=key):
            return f"get {render_key(key)}"
        case Noop():
            return "noop"
        case List(prefix=prefix, limit=limit, after=""):
            return f"list {prefix!r} {limit}"
        case List(prefix=prefix, limit=limit, after=after):
            return f"list {prefix!r} {limit} after {after!r}"
        case _:
            assert_never(decoded)


def render_command(command: Command) -> str:
    return f"{command.client_id}.{command.seq} {render_op(command.op)}"


def render_slot(slot: Slot, batch: Batch | None) -> str:
    """The line of one slot, without its newline; `batch=None` for a slot this node lacks."""
    if batch is None:
        return f"{slot} {UNKNOWN}"
    if not batch:
        return f"{slot} noop"
    return f"{slot} " + "; ".join(render_command(c) for c in batch)


def render_lines(entries: Sequence[tuple[Slot, Batch]], first: Slot, last: Slot) -> Iterator[str]:
    """The lines of slots `first..last`, each with its newline.

    `entries` are the slots this node holds, in ascending slot order (the runner's applied
    log); every other slot in the range is UNKNOWN.
    """
    index = bisect.bisect_left(entries, first, key=lambda entry: entry[0])
    for slot in range(first, last + 1):
        while index < len(entries) and entries[index][0] < slot:
            index += 1
        if index < len(entries) and entries[index][0] == slot:
            yield render_slot(slot, entries[index][1]) + "\n"
        else:
            yield render_slot(slot, None) + "\n"
