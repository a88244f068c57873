"""The machines every pyxos node runs, under the names clients address them by."""

from __future__ import annotations

from pyxos.machines.ask import AskMachine
from pyxos.machines.kv import KvMachine
from pyxos.machines.locks import LockMachine
from pyxos.machines.queue import QueueMachine
from pyxos.machines.router import Router
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
