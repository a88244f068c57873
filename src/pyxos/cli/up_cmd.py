"""`pyxos up`: a local cluster of N node processes, data on local disk, until Ctrl-C.

The first run writes `<data-dir>/cluster.toml` (a fresh cluster id, node k's HTTP API on
`base-port + k - 1`, its peer port on `peer-base-port + k - 1` and its fast client protocol on
`client-base-port + k - 1`); later runs reuse it, so the nodes recover their data. With
`--zones Z` the nodes get Paxi-style `"zone.node"` ids, Z zones of consecutive nodes (`1.1`,
`1.2`, ..., `2.1`, ...), and WPaxos defaults to grid quorums over them
(`grid:fz=0,fn=1`: phase 2 inside a zone, phase 1 across all of them). Protocol settings
(`--protocol-option policy=immediate`) go into the file's `[options]` table. Each node is a
`pyxos node` subprocess logging to `<data-dir>/node-<id>.log`. A node that dies is not
restarted: `up` says so and prints the `pyxos node` command that restarts it. Also runnable as
`python -m pyxos.cli.up_cmd ...`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from pyxos.cli.cluster_args import DEFAULT_CLUSTER_FILE, ENV_ENDPOINTS
from pyxos.cli.program import program
from pyxos.cli.protocol_args import add_protocol_arguments, default_quorums, protocol_options
from pyxos.client.endpoints import reachable
from pyxos.core.protocols import DEFAULT_PROTOCOL
from pyxos.core.quorum import MAJORITY, QuorumSpec
from pyxos.runtime.config import (
    ClusterConfig,
    ConfigError,
    HostPort,
    cluster_toml,
    load_config,
    zone_node_ids,
    zone_of,
)
from pyxos.storage import EXIT_STORAGE_FAILED

HEALTH_DEADLINE_S = 30.0
STOP_DEADLINE_S = 10.0
POLL_S = 0.05


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nodes", type=int, default=None, help="cluster size (default 3, or 3 per zone)"
    )
    parser.add_argument(
        "--zones",
        type=int,
        default=None,
        metavar="Z",
        help=(
            'split the nodes into Z zones of consecutive nodes with "zone.node" ids (1.1, 1.2, '
            "..., 2.1, ...); with --protocol wpaxos the quorums default to grid:fz=0,fn=1 "
            "(phase 2 in one zone, phase 1 across the zones)"
        ),
    )
    parser.add_argument(
        "--base-port", type=int, default=None, help="node k's HTTP port is this + k - 1 (8000)"
    )
    parser.add_argument(
        "--peer-base-port",
        type=int,
        default=None,
        help="node k's peer port is this + k - 1 (default: base port - 1000)",
    )
    parser.add_argument(
        "--client-base-port",
        type=int,
        default=None,
        help="node k's fast client protocol port is this + k - 1 (default: base port + 1000)",
    )
    parser.add_argument(
        "--fault-injection",
        action="store_true",
        help="enable the fault routes (/crash) in a new cluster file: for tests and demos only",
    )
    add_protocol_arguments(parser)
    # None: "not given", so that a cluster with zones can take grid quorums by default.
    parser.set_defaults(quorums=None)
    parser.add_argument(
        "--thrifty",
        action="store_true",
        help="send phase 2 to a quorum first, the rest on retransmission (Paxi's thrifty)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument(
        "--data-dir", default="pyxos-data", help="where the cluster file and data live"
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "up",
        help="run a local cluster until Ctrl-C",
        description=(
            "Start N pyxos nodes on this machine, wait until they serve, print their endpoints, "
            "and stop them cleanly on Ctrl-C. A node that dies is reported with the pyxos node "
            "command that restarts it. Running it again recovers the data."
        ),
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


class _StopRequestedError(Exception):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _StopRequestedError


def _cluster_file(args: argparse.Namespace) -> tuple[Path, ClusterConfig, bool]:
    data_dir = Path(args.data_dir)
    path = data_dir / "cluster.toml"
    try:
        options = protocol_options(args)
    except ValueError as exc:
        raise ConfigError(f"--protocol-option: {exc}") from None
    if path.exists():
        config = load_config(path)
        check_reuse(path, config, args, options)
        return path, config, False
    zones = args.zones
    if zones is not None and zones < 1:
        raise ConfigError("--zones must be at least 1")
    default_nodes = 3 if zones is None else 3 * zones
    nodes = default_nodes if args.nodes is None else args.nodes
    base = 8000 if args.base_port is None else args.base_port
    peer_base = base - 1000 if args.peer_base_port is None else args.peer_base_port
    client_base = base + 1000 if args.client_base_port is None else args.client_base_port
    if nodes < 1:
        raise ConfigError("--nodes must be at least 1")
    if zones is not None and nodes < zones:
        raise ConfigError(f"--nodes {nodes} cannot fill --zones {zones}: give each zone a node")
    path = write_cluster_file(
        data_dir,
        http_ports=range(base, base + nodes),
        peer_ports=range(peer_base, peer_base + nodes),
        client_ports=range(client_base, client_base + nodes),
        host=args.host,
        fault_injection=args.fault_injection,
        protocol=args.protocol,
        quorums=default_quorums(args.protocol, nodes, zones, args.quorums),
        thrifty=args.thrifty,
        options=options,
        zones=zones,
    )
    return path, load_config(path), True


def check_reuse(
    path: Path,
    config: ClusterConfig,
    args: argparse.Namespace,
    options: tuple[tuple[str, str], ...],
) -> None:
    """Refuse flags that contradict the existing cluster file at `path` (`ConfigError`)."""
    if args.nodes is not None and args.nodes != len(config.nodes):
        raise ConfigError(
            f"{path} has {len(config.nodes)} nodes, not {args.nodes}: "
            "use another --data-dir for a different cluster"
        )
    zones = len(config.zones) if config.zoned else None
    if args.zones is not None and args.zones != zones:
        has = f"{zones} zones" if zones is not None else "no zones"
        raise ConfigError(
            f"{path} has {has}, not {args.zones}: use another --data-dir for a different cluster"
        )
    first_http = config.nodes[0].http.port
    if args.base_port is not None and args.base_port != first_http:
        raise ConfigError(
            f"{path} puts node 1's HTTP API on port {first_http}, not {args.base_port}: "
            "edit the file or use another --data-dir"
        )
    first_client = config.nodes[0].client.port
    if args.client_base_port is not None and args.client_base_port != first_client:
        raise ConfigError(
            f"{path} puts node 1's client port on {first_client}, not "
            f"{args.client_base_port}: edit the file or use another --data-dir"
        )
    # A protocol, quorum system or option asked for that is not the file's own is a mistake.
    if args.protocol not in (DEFAULT_PROTOCOL, config.protocol):
        raise ConfigError(
            f"{path} runs protocol {config.protocol}, not {args.protocol}: use another "
            "--data-dir for a different cluster"
        )
    if args.quorums is not None and args.quorums not in (MAJORITY, config.quorums):
        raise ConfigError(
            f"{path} uses {config.quorums.describe()} quorums, not "
            f"{args.quorums.describe()}: edit the file or use another --data-dir"
        )
    file_options = dict(config.options)
    for name, value in options:
        if file_options.get(name) != value:
            has = f"{name} = {file_options[name]!r}" if name in file_options else f"no {name} set"
            raise ConfigError(
                f"{path} has {has} in [options], not {value!r}: edit the file or use another "
                "--data-dir"
            )
    if args.fault_injection and not config.fault_injection:
        raise ConfigError(
            f"{path} has fault injection off: set fault_injection = true in it, "
            "or use another --data-dir"
        )


def write_cluster_file(
    data_dir: Path,
    *,
    http_ports: Sequence[int],
    peer_ports: Sequence[int],
    client_ports: Sequence[int],
    host: str = "127.0.0.1",
    fault_injection: bool = False,
    protocol: str = DEFAULT_PROTOCOL,
    quorums: QuorumSpec = MAJORITY,
    thrifty: bool = False,
    options: Sequence[tuple[str, str]] = (),
    zones: int | None = None,
) -> Path:
    """Write `<data_dir>/cluster.toml` for a new local cluster with a fresh cluster id: node k
    (1-based) listens on the k-th port of each list; with `zones`, the nodes are split into
    that many zones of consecutive nodes with `"zone.node"` ids (`zone_node_ids`). Raises
    `ConfigError` if the ports overlap or are out of range."""
    nodes = len(http_ports)
    if not nodes or len(peer_ports) != nodes or len(client_ports) != nodes:
        raise ConfigError("every node needs an HTTP, a peer and a client port")
    ports = [*http_ports, *peer_ports, *client_ports]
    if min(ports) < 1 or max(ports) > 65535 or len(set(ports)) != len(ports):
        raise ConfigError(
            f"ports {http_ports[0]}.., {peer_ports[0]}.. and {client_ports[0]}.. for {nodes} "
            "nodes overlap or are out of range"
        )
    ids = zone_node_ids(nodes, zones) if zones is not None else tuple(range(1, nodes + 1))
    text = cluster_toml(
        cluster=f"local-{secrets.token_hex(4)}",
        nodes=[
            (
                node_id,
                HostPort(host=host, port=peer_ports[k]),
                HostPort(host=host, port=http_ports[k]),
                HostPort(host=host, port=client_ports[k]),
            )
            for k, node_id in enumerate(ids)
        ],
        data_dir=".",
        fault_injection=fault_injection,
        protocol=protocol,
        quorums=quorums,
        thrifty=thrifty,
        options=options,
        zoned=zones is not None,
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "cluster.toml"
    path.write_text(text)
    return path


def _healthy(address: HostPort, cluster: str) -> bool:
    """True once the node at `address` answers /healthz as a member of `cluster` (and not some
    other process that happens to hold the port)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(address.host, address.host)
    url = f"http://{HostPort(host=host, port=address.port)}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            body = json.loads(r.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return isinstance(body, dict) and body.get("cluster") == cluster


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def spawn_nodes(
    path: Path,
    config: ClusterConfig,
    log_level: str,
    procs: dict[int, subprocess.Popen[bytes]] | None = None,
) -> tuple[dict[int, subprocess.Popen[bytes]], dict[int, Path]]:
    """Start a `pyxos node` process for every member of the cluster file at `path`, each
    logging to `node-<name>.log` beside it (`node-2.log`, or `node-1.2.log` in a zoned
    cluster): `(processes, log files)` by node id. The processes are
    added to `procs` as they start, so that a caller can stop those already started if this
    raises."""
    procs = {} if procs is None else procs
    logs = {
        spec.node_id: path.parent / f"node-{config.name(spec.node_id)}.log" for spec in config.nodes
    }
    for spec in config.nodes:
        with open(logs[spec.node_id], "ab") as log_file:
            procs[spec.node_id] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pyxos.cli.node_cmd",
                    "--config",
                    str(path),
                    "--id",
                    config.name(spec.node_id),
                    "--log-level",
                    log_level,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C reaches `up` only, which stops the nodes in order.
                start_new_session=True,
            )
    return procs, logs


def stop_all(procs: dict[int, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every node still running, then wait for each (killing it past a deadline)."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_DEADLINE_S
    for node_id, proc in procs.items():
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"node {node_id} did not stop within {STOP_DEADLINE_S:.0f}s; killing it")
            proc.kill()
            proc.wait()


def run(args: argparse.Namespace) -> int:
    try:
        path, config, created = _cluster_file(args)
    except ConfigError as exc:
        print(f"pyxos up: error: {exc}", file=sys.stderr)
        return 2
    data_dir = path.parent
    print(
        f"{'created' if created else 'reusing'} {path} "
        f"(cluster {config.cluster}, {len(config.nodes)} nodes)"
    )
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, _on_signal)
    procs: dict[int, subprocess.Popen[bytes]] = {}
    logs: dict[int, Path] = {}
    try:
        procs, logs = spawn_nodes(path, config, args.log_level, procs)
        status = wait_healthy(config, procs, logs)
        if status != 0:
            stop_all(procs)
            return status
        _print_endpoints(config, data_dir)
        while procs:
            for node_id, proc in list(procs.items()):
                try:
                    code = proc.wait(timeout=POLL_S)
                except subprocess.TimeoutExpired:
                    continue
                print(exit_report(config.name(node_id), code, path, logs[node_id]))
                del procs[node_id]
        return 0
    except _StopRequestedError:
        print("\nstopping...")
        stop_all(procs)
        print(f"stopped. The data is kept in {data_dir}; run the same command to recover it.")
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_report(node_id: int | str, code: int, path: Path, log: Path) -> str:
    """What `up` says when node `node_id` of the cluster file `path` has exited with `code`:
    how it ended, where its log is, and the command that starts it again."""
    how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
    if code < 0:
        with contextlib.suppress(ValueError):
            how = f"was killed by {signal.Signals(-code).name}"
    if code == EXIT_STORAGE_FAILED:
        how += " (a disk write or sync failed: check the disk before restarting it)"
    restart = f"pyxos node --config {shlex.quote(str(path))} --id {node_id}"
    return (
        f"node {node_id} {how}; its log: {log}\n"
        f"  to restart it (it recovers its data and catches up), run in another terminal:\n"
        f"    {restart}\n"
        "  (this pyxos up does not watch the restarted node: stop it with Ctrl-C there)"
    )


def wait_healthy(
    config: ClusterConfig, procs: dict[int, subprocess.Popen[bytes]], logs: dict[int, Path]
) -> int:
    """0 once every node answers /healthz; 1 (with the reason on stderr) if one exits or the
    deadline passes first."""
    deadline = time.monotonic() + HEALTH_DEADLINE_S
    waiting = {spec.node_id: spec.http for spec in config.nodes}
    while waiting:
        for node_id in list(waiting):
            code = procs[node_id].poll()
            if code is not None:
                name = config.name(node_id)
                print(f"node {name} exited with status {code} while starting:", file=sys.stderr)
                print(_tail(logs[node_id]), file=sys.stderr)
                return 1
            if _healthy(waiting[node_id], config.cluster):
                del waiting[node_id]
        if not waiting:
            break
        if time.monotonic() > deadline:
            print(
                f"nodes {[config.name(k) for k in sorted(waiting)]} not healthy after "
                f"{HEALTH_DEADLINE_S:.0f}s; "
                f"see their logs in {next(iter(logs.values())).parent}",
                file=sys.stderr,
            )
            return 1
        time.sleep(POLL_S)
    return 0


def _print_endpoints(config: ClusterConfig, data_dir: Path) -> None:
    zones = f" in {len(config.zones)} zones" if config.zoned else ""
    print(
        f"\npyxos: {len(config.nodes)} nodes up{zones} (cluster {config.cluster}, "
        f"protocol {config.protocol}, {config.quorums.describe()} quorums, data in {data_dir})"
    )
    if config.options:
        print("  options: " + ", ".join(f"{name}={value}" for name, value in config.options))
    for spec in config.nodes:
        zone = f" (zone {zone_of(spec.node_id)})" if config.zoned else ""
        print(
            f"  node {config.name(spec.node_id)}{zone}: http://{spec.http}   "
            f"client {spec.client}   peer {spec.peer}"
        )
    if config.fault_injection:
        print("  fault injection is ON (/crash answers): never use this cluster for real data")
    # Addresses a client here can dial (not 0.0.0.0 under --host 0.0.0.0): they work as printed.
    first = reachable(config.nodes[0].http)
    second = reachable(config.nodes[1 % len(config.nodes)].http)
    endpoints = ",".join(str(reachable(spec.client)) for spec in config.nodes)
    config_file = data_dir / "cluster.toml"
    pyxos = program()
    # Without flags, the commands find ./pyxos-data/cluster.toml: print them bare when that is
    # this cluster's file and nothing in the environment points elsewhere.
    found_bare = _same_file(config_file, DEFAULT_CLUSTER_FILE) and not os.environ.get(ENV_ENDPOINTS)
    where = "" if found_bare else f" --config {shlex.quote(str(config_file))}"
    print(
        "\nTry:\n"
        f"  curl -X PUT {first}/v1/kv/hello -d world\n"
        f"  curl {second}/v1/kv/hello\n"
        f"  curl '{second}/v1/kv/hello?consistency=stale'\n"
        f"  curl -X DELETE {first}/v1/kv/hello\n"
        f"  curl {first}/status\n"
        f"  {pyxos} kv put hello world{where}\n"
        f"  {pyxos} kv get hello{where}\n"
        f"  {pyxos} status{where}\n"
        f"The status page: http://{first}/\n"
        f"From another directory: export {ENV_ENDPOINTS}={endpoints}\n"
        "\nCtrl-C stops the cluster."
    )


def _same_file(a: Path, b: Path) -> bool:
    return a.absolute() == b.absolute()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxos up", description="Run a local pyxos cluster.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
