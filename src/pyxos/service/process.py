"""Running one node as a process: open its log, recover, serve peers and HTTP until a signal.

Start-up order: the log is loaded first (it takes the directory's lock, so a second process on
the same data fails here, before anything listens); then the boot counter is bumped and synced
(client seqs of this run start above every seq of earlier runs); then the runner, the peer
transport, the HTTP API and the fast client protocol server start. SIGTERM and SIGINT stop it
cleanly: the runner first (a final sync of what was appended; waiting requests are answered
`unavailable`), then the client server and HTTP, then the transport. A storage failure or a
broken invariant ends the process at once with `EXIT_STORAGE_FAILED` (74) or
`EXIT_NODE_FAILED` (70).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path
from random import Random
from typing import Any

from pyxos.core.records import AcceptedValue, DecidedValue, Promised, Record, covers
from pyxos.machines.catalog import build_machines
from pyxos.node.node import Node
from pyxos.runtime.client_server import ClientServer
from pyxos.runtime.config import ClusterConfig
from pyxos.runtime.runner import NodeRunner
from pyxos.runtime.transport import PeerTransport
from pyxos.service.app import build_app, serve
from pyxos.storage import EXIT_STORAGE_FAILED, StorageFailed, WriteAheadLog
from pyxos.storage.fsio import fsync_directory

log = logging.getLogger(__name__)

EXIT_NODE_FAILED = 70
"""Exit status after a broken invariant in the node (EX_SOFTWARE from sysexits.h)."""
BOOT_FILE = "boot"
WAL_DIR = "wal"
# Present while a rebuilt node has not yet been allowed to vote (pyxos.core.rejoin): a restart
# in that window must stay mute too, since the votes it forgot still do not count.
REJOINING_FILE = "REJOINING"


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
        f.write(b"rebuilt: do not vote until pyxos.core.rejoin allows it\n")
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


def configure_logging(node_id: int, level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format=f"%(asctime)s n{node_id} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def install_uvloop() -> bool:
    """Use uvloop's event loop when it is installed (about 25% more throughput)."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def run_node(config: ClusterConfig, node_id: int, *, rebuild: bool = False) -> int:
    """Run node `node_id` of `config` until SIGTERM/SIGINT; the process exit status.

    `rebuild=True` first moves the node's data directory aside (its log is damaged) and starts
    it empty, rejoining without voting until that is safe (docs/storage.md).
    """
    uv = install_uvloop()
    log.info("node=%d starting (event loop: %s)", node_id, "uvloop" if uv else "asyncio")
    if rebuild:
        moved = rebuild_data_dir(config.node(node_id).data_dir)
        log.warning(
            "node=%d rebuilding: old data %s; rejoining without a vote until it is safe",
            node_id,
            f"moved to {moved}" if moved is not None else "absent",
        )
    return asyncio.run(_main(config, node_id))


def _fail_stop(exc: BaseException) -> None:
    status = EXIT_STORAGE_FAILED if isinstance(exc, StorageFailed | OSError) else EXIT_NODE_FAILED
    log.critical("the node stops with status %d: %s", status, exc)
    logging.shutdown()
    # No cleanup that could write to the disk or answer anyone: the process ends here.
    os._exit(status)


async def _main(config: ClusterConfig, node_id: int) -> int:
    spec = config.node(node_id)
    spec.data_dir.mkdir(parents=True, exist_ok=True)
    store = WriteAheadLog(spec.data_dir / WAL_DIR)
    loaded = await asyncio.to_thread(store.load)
    records: list[Record] = list(loaded.records)
    snapshot = loaded.snapshot
    if snapshot is not None:
        # The log may still start with records the snapshot covers (docs/storage.md).
        records = [r for r in records if not covers(snapshot, r)]
    boot = await asyncio.to_thread(bump_boot_count, spec.data_dir)
    log.info(
        "node=%d recovered %s, boot %d",
        node_id,
        _describe(records, None if snapshot is None else snapshot.slot),
        boot,
    )
    rejoining = (spec.data_dir / REJOINING_FILE).exists()
    node = Node(
        config=config.replica_config(node_id),
        machine=build_machines(),
        rng=Random(),
        durable=records,
        snapshot=snapshot,
        rejoining=rejoining,
    )

    def on_note(kind: str, detail: str) -> None:
        if kind == "rejoined":
            _rejoined(spec.data_dir)

    runner = NodeRunner(
        node,
        store,
        limits=config.limits,
        seq_base=boot << 32,
        on_failure=_fail_stop,
        on_note=on_note,
    )
    transport = PeerTransport(
        node_id=node_id,
        cluster=config.cluster,
        listen=spec.peer,
        peers={s.node_id: s.peer for s in config.nodes},
        deliver=runner.receive,
        limits=config.limits,
    )
    runner.attach(transport.send)

    # Every member's addresses, so that a client (`pyxos status`) reaching one node finds all.
    members = {str(s.node_id): {"http": str(s.http), "client": str(s.client)} for s in config.nodes}

    def status() -> dict[str, Any]:
        body = runner.status()
        body["cluster"] = config.cluster
        # Where this node serves, so that a client that found it can reach its other APIs.
        body["http"] = str(spec.http)
        body["client"] = str(spec.client)
        body["members"] = members
        body["peers_connected"] = transport.connected_peers
        body["transport"] = {
            name: getattr(transport.counters, name)
            for name in transport.counters.__dataclass_fields__
        }
        body["client_server"] = clients.counters.as_dict()
        return body

    clients = ClientServer(
        runner,
        cluster=config.cluster,
        listen=spec.client,
        members={s.node_id: s.client for s in config.nodes},
        status=status,
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await runner.start()
    http = None
    try:
        await transport.start()
        # The client port before HTTP: once /healthz answers, both take requests.
        await clients.start()
        http = await serve(
            build_app(runner, status, fault_injection=config.fault_injection), spec.http
        )
    except OSError as exc:
        log.error("node=%d cannot listen: %s", node_id, exc)
        await runner.stop()
        await clients.close()
        if http is not None:
            await http.cleanup()
        await transport.close()
        return 1
    log.info(
        "node=%d serving: http %s, clients %s, peers %s, data %s%s",
        node_id,
        spec.http,
        spec.client,
        spec.peer,
        spec.data_dir,
        ", FAULT INJECTION ON" if config.fault_injection else "",
    )
    await stop.wait()
    log.info("node=%d stopping", node_id)
    # The runner first: it fails the requests still waiting (so HTTP and the client server have
    # nothing to wait for) and syncs what was appended; then the client APIs and the peers.
    await runner.stop()
    await clients.close()
    await http.cleanup()
    await transport.close()
    return 0 if runner.failure is None else 1


def _describe(records: list[Record], snapshot_slot: int | None) -> str:
    promised = sum(1 for r in records if isinstance(r, Promised))
    accepted = sum(1 for r in records if isinstance(r, AcceptedValue))
    decided = sum(1 for r in records if isinstance(r, DecidedValue))
    where = "no snapshot" if snapshot_slot is None else f"snapshot at slot {snapshot_slot}"
    return f"{promised} promises, {accepted} accepted, {decided} decided records, {where}"
