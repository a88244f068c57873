"""The machines every pyxos node runs, under the names clients address them by."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pyxos.machines import ask, kv, locks, queue, vmap
from pyxos.machines.ask import AskMachine
from pyxos.machines.display import show_bad
from pyxos.machines.kv import KvMachine
from pyxos.machines.locks import LockMachine
from pyxos.machines.queue import QueueMachine
from pyxos.machines.router import Router, unroute
from pyxos.machines.vmap import VersionedMap

KV = "kv"
LOCKS = "locks"
ASK = "ask"
QUEUE = "queue"
MAP = "map"


def build_machines() -> Router:
    """A fresh set of the built-in machines: the key-value store (which takes unaddressed
    commands, so KV clients need no envelope), locks that fence writes to that store, write-once
    values, FIFO queues and a versioned map."""
    kv = KvMachine()
    return Router(
        {
            KV: kv,
            LOCKS: LockMachine(protected=kv),
            ASK: AskMachine(),
            QUEUE: QueueMachine(),
            MAP: VersionedMap(),
        },
        default=KV,
    )


_DESCRIBE: Mapping[str, Callable[[bytes], str]] = {
    KV: kv.describe_op,
    LOCKS: lambda op: locks.describe_op(op, protected=kv.describe_op),
    ASK: ask.describe_op,
    QUEUE: queue.describe_op,
    MAP: vmap.describe_op,
}


def describe_op(op: bytes) -> str:
    """A command of `build_machines()` for a person: a key-value command as `kv.describe_op`
    shows it (`put k='v'`), another machine's with its name first (`locks acquire db alice
    ttl=5000ms`, `map put k='v'`), the clock command as `clock`, and bytes that are none of
    these as `bad {hex}` (see `pyxos.machines.display`)."""
    try:
        routed = unroute(op)
    except ValueError:
        return show_bad(op)
    if routed is None:
        return kv.describe_op(op)
    name, inner = routed
    if not name:
        return "clock"
    describe = _DESCRIBE.get(name)
    return show_bad(op) if describe is None else f"{name} {describe(inner)}"
