"""Assembling one node from its data directory: storage recovery, the runner, the peer transport.

Shared by the node process (`pyxos node`, `pyxos.service.process`) and the embedded node
(`pyxos.embed`), so both recover the same way. The order matters: the log is loaded first (it
takes the directory's lock, so a second process on the same data fails here, before anything
listens); then the boot counter is bumped and synced (client seqs of this run start above every
seq of earlier runs); then the node is built from the recovered records, and the runner and the
transport are wired to each other. Nothing is started: the caller starts the runner, then the
transport (and whatever client APIs it serves), and stops them in the reverse order.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from random import Random

from pyxos.core.ids import NodeId
from pyxos.core.io import DurableRecord as Record
from pyxos.core.protocol import AcceptFact, DecideFact, PromiseFact, ProtocolSpec
from pyxos.machines.base import StateMachine
from pyxos.node.node import Node
from pyxos.runtime.config import ClusterConfig, NodeSpec
from pyxos.runtime.runner import NodeRunner
from pyxos.runtime.transport import PeerTransport
from pyxos.storage import WriteAheadLog
from pyxos.storage.fsio import fsync_directory

log = logging.getLogger(__name__)

BOOT_FILE = "boot"
WAL_DIR = "wal"
# Present while a rebuilt node has not yet been allowed to vote (see the protocol's rejoin rule,
# pyxos.core.multipaxos.rejoin): a restart in that window must stay mute too, since the votes it
# forgot still do not count.
REJOINING_FILE = "REJOINING"


@dataclass(frozen=True, slots=True, kw_only=True)
class AssembledNode:
    """A node recovered from its disk, its runner and its transport, wired but not started."""

    spec: NodeSpec
    runner: NodeRunner
    transport: PeerTransport
    boot: int
    """This run's boot count (1 for the first run on an empty directory)."""


async def assemble_node(
    config: ClusterConfig,
    node_id: NodeId,
    *,
    machine: StateMachine,
    on_failure: Callable[[BaseException], None],
    on_role: Callable[[bool], None] | None = None,
) -> AssembledNode:
    """Recover node `node_id` of `config` from its data directory, running `machine`.

    `on_failure` is the runner's (a storage failure or a broken invariant: the node has
    stopped); `on_role(is_leader)` is called when the node becomes or stops being the leader.
    Raises `ConfigError` for an unknown id and the storage errors of `WriteAheadLog.load`
    (`CorruptLog`, `StorageError` if another process holds the directory, ...).
    """
    spec = config.node(node_id)
    protocol = config.protocol_spec
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    store = WriteAheadLog(spec.data_dir / WAL_DIR, protocol=protocol)
    loaded = await asyncio.to_thread(store.load)
    records: list[Record] = list(loaded.records)
    snapshot = loaded.snapshot
    if snapshot is not None:
        # The log may still start with records the snapshot covers (docs/storage.md).
        records = [r for r in records if not protocol.covers(snapshot, r)]
    boot = await asyncio.to_thread(bump_boot_count, spec.data_dir)
    log.info(
        "node=%d recovered %s, boot %d",
        node_id,
        _describe(protocol, records, None if snapshot is None else snapshot.slot),
        boot,
    )
    node = Node(
        config=config.replica_config(node_id),
        machine=machine,
        rng=Random(),
        durable=records,
        snapshot=snapshot,
        rejoining=(spec.data_dir / REJOINING_FILE).exists(),
        protocol=protocol,
    )

    def on_note(kind: str, detail: str) -> None:
        if kind == "rejoined":
            _rejoined(spec.data_dir)

    runner = NodeRunner(
        node,
        store,
        limits=config.limits,
        seq_base=boot << 32,
        on_failure=on_failure,
        on_note=on_note,
        on_role=on_role,
    )
    transport = PeerTransport(
        node_id=node_id,
        cluster=config.cluster,
        listen=spec.peer,
        peers={s.node_id: s.peer for s in config.nodes},
        deliver=runner.receive,
        limits=config.limits,
        protocol=protocol,
    )
    runner.attach(transport.send)
    runner.watch_peers(transport)
    return AssembledNode(spec=spec, runner=runner, transport=transport, boot=boot)


def rebuild_data_dir(data_dir: Path) -> Path | None:
    """Move a damaged data directory aside and leave an empty one marked as rejoining.

    Returns where the old data went (None if there was none). The moved directory is kept for
    diagnosis; the node never reads it again.
    """
    moved = None
    if data_dir.exists() and any(data_dir.iterdir()):
        moved = data_dir.with_name(f"{data_dir.name}.damaged-{int(time.time())}")
        os.replace(data_dir, moved)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker = data_dir / REJOINING_FILE
    with open(marker, "wb") as f:
        f.write(b"rebuilt: do not vote until the rejoin rule allows it\n")
        os.fsync(f.fileno())
    fsync_directory(data_dir)
    fsync_directory(data_dir.parent)
    return moved


def _rejoined(data_dir: Path) -> None:
    """The core lets the node vote again: drop the marker, durably."""
    (data_dir / REJOINING_FILE).unlink(missing_ok=True)
    fsync_directory(data_dir)


def read_boot_count(data_dir: Path) -> int:
    try:
        return int((data_dir / BOOT_FILE).read_text().strip() or 0)
    except FileNotFoundError:
        return 0


def bump_boot_count(data_dir: Path) -> int:
    """Increment and durably store this node's boot counter; the new value.

    Written to a temporary file, synced and renamed, then the directory synced, so a crash
    leaves the old or the new count, never a torn one.
    """
    count = read_boot_count(data_dir) + 1
    tmp = data_dir / f"{BOOT_FILE}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, f"{count}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, data_dir / BOOT_FILE)
    fsync_directory(data_dir)
    return count


def _describe(protocol: ProtocolSpec, records: list[Record], snapshot_slot: int | None) -> str:
    facts = [protocol.fact(r) for r in records]
    promised = sum(1 for f in facts if isinstance(f, PromiseFact))
    accepted = sum(1 for f in facts if isinstance(f, AcceptFact))
    decided = sum(1 for f in facts if isinstance(f, DecideFact))
    where = "no snapshot" if snapshot_slot is None else f"snapshot at slot {snapshot_slot}"
    return f"{promised} promises, {accepted} accepted, {decided} decided records, {where}"
