"""The committed log as text, one slot per line: GoPaxos' `/log/print`, for people and for
`pyxos log dump` / `pyxos check logs`, which compare these lines across nodes.

The format (pinned by tests; tools compare lines byte for byte):

    {slot} {batch}          batch: `noop` if empty, else its commands joined by "; "
    {slot} UNKNOWN          a slot this node does not hold (before its snapshot, or too old)

A command is `{client_id}.{seq} {op}`, and an op is what `pyxos.machines.catalog.describe_op`
makes of it: a key-value operation as it is,

    put {key}={value}    del {key}    cas {key} {expected}->{value}    get {key}
    noop                 list {prefix} {limit}    list {prefix} {limit} after {key}

another machine's with its name first (`locks acquire db alice ttl=5000ms`, `queue push jobs
'x'`, `ask k='v'`, `map update k='v' version=2`), the clock command as `clock`, a read through
the log (how WPaxos serves a linearizable read) as `read` and the query (`read get k`), and
bytes that are none of these as `bad {hex of the bytes}`. A value is quoted if it is printable
UTF-8 text and `0x{hex}` otherwise (`None` when absent); a key or name that is not plain is quoted
(`pyxos.machines.display`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

from pyxos.core.commands import Batch, Command
from pyxos.core.ids import Slot
from pyxos.machines.catalog import describe_op
from pyxos.machines.router import READ, unroute

UNKNOWN = "UNKNOWN"


def render_command(command: Command) -> str:
    return f"{command.client_id}.{command.seq} {_describe(command.op)}"


def _describe(op: bytes) -> str:
    try:
        routed = unroute(op)
    except ValueError:
        routed = None
    if routed is not None and routed[0] == READ:
        return f"read {describe_op(routed[1])}"
    return describe_op(op)


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
