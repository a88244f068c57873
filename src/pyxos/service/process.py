"""Running one node as a process: open its log, recover, serve peers and HTTP until a signal.

Start-up order: the node is recovered from its data directory and wired to its transport by
`pyxos.runtime.assembly` (shared with the embedded node, `pyxos.embed`); then the runner, the
peer transport, the HTTP API and the fast client protocol server start. SIGTERM and SIGINT stop it
cleanly: the runner first (a final sync of what was appended; waiting requests are answered
`unavailable`), then the client server and HTTP, then the transport. A storage failure or a
broken invariant ends the process at once with `EXIT_STORAGE_FAILED` (74) or
`EXIT_NODE_FAILED` (70).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from random import Random

import msgspec

from pyxos.machines.catalog import build_machines
from pyxos.runtime.assembly import (
    REJOINING_FILE,
    assemble_node,
    bump_boot_count,
    read_boot_count,
    rebuild_data_dir,
)
from pyxos.runtime.client_server import ClientServer
from pyxos.runtime.config import ClusterConfig
from pyxos.runtime.status import MemberAddress, NodeStatus
from pyxos.service.app import build_app, serve
from pyxos.storage import EXIT_STORAGE_FAILED, StorageFailed
from pyxos.storage.writable import check_writable

__all__ = [
    "EXIT_NODE_FAILED",
    "REJOINING_FILE",
    "bump_boot_count",
    "configure_logging",
    "read_boot_count",
    "rebuild_data_dir",
    "rebuild_refusal",
    "run_node",
]

log = logging.getLogger(__name__)

EXIT_NODE_FAILED = 70
"""Exit status after a broken invariant in the node (EX_SOFTWARE from sysexits.h)."""


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
    it empty, rejoining without voting until that is safe (docs/storage.md). Raises
    `NotWritable` if this process may not write the node's data directory, before touching it.
    """
    uv = install_uvloop()
    log.info("node=%d starting (event loop: %s)", node_id, "uvloop" if uv else "asyncio")
    # Before anything is written (and before a rebuild would set the log aside): a directory
    # this process may not write is an access problem, not damage.
    check_writable(config.node(node_id).data_dir)
    if rebuild:
        moved = rebuild_data_dir(config.node(node_id).data_dir)
        log.warning(
            "node=%d rebuilding: old data %s; rejoining without a vote until it is safe",
            node_id,
            f"moved to {moved}" if moved is not None else "absent",
        )
    return asyncio.run(_main(config, node_id))


def rebuild_refusal(config: ClusterConfig, node_id: int) -> str | None:
    """Why node `node_id` cannot be rebuilt from its peers under the cluster's protocol, or
    None. Asked of the protocol itself (a replica built as a rejoining one), before a rebuild
    sets the node's data aside: a protocol that cannot rejoin would otherwise refuse to start
    only after the old data had been moved."""
    try:
        config.protocol_spec.build(
            config.replica_config(node_id), Random(0), durable=(), rejoining=True
        )
    except ValueError as exc:
        return f"--rebuild under protocol {config.protocol}: {exc}"
    return None


def _fail_stop(exc: BaseException) -> None:
    status = EXIT_STORAGE_FAILED if isinstance(exc, StorageFailed | OSError) else EXIT_NODE_FAILED
    log.critical("the node stops with status %d: %s", status, exc)
    logging.shutdown()
    # No cleanup that could write to the disk or answer anyone: the process ends here.
    os._exit(status)


async def _main(config: ClusterConfig, node_id: int) -> int:
    assembled = await assemble_node(
        config, node_id, machine=build_machines(), on_failure=_fail_stop
    )
    spec, runner, transport = assembled.spec, assembled.runner, assembled.transport

    # Every member's addresses, so that a client (`pyxos status`) reaching one node finds all,
    # and its name as the cluster file writes it (`"1.2"` in a zoned cluster).
    members = {
        str(s.node_id): MemberAddress(
            http=str(s.http), client=str(s.client), name=config.name(s.node_id)
        )
        for s in config.nodes
    }
    name = config.name(node_id)

    def status() -> NodeStatus:
        reach = runner.reachability()
        return msgspec.structs.replace(
            runner.status(),
            name=name,
            cluster=config.cluster,
            # Where this node serves, so that a client that found it can reach its other APIs.
            http=str(spec.http),
            client=str(spec.client),
            members=members,
            peers_connected=transport.connected_peers,
            unreachable=list(reach.unreachable),
            quorum=reach.quorum,
            transport={
                field: getattr(transport.counters, field)
                for field in transport.counters.__dataclass_fields__
            },
            client_server=clients.counters.as_dict(),
        )

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
    # Everything loaded so far (modules, the recovered state) lives as long as the process: move
    # it out of the collector's reach, so that a full collection scans only what came since.
    # Measured: the leader's full collections under write load went from 28-37 ms to 6 ms.
    gc.collect()
    gc.freeze()
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
