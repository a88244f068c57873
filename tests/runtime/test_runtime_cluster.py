"""Real `pyxos node` processes on loopback: writes and reads through different nodes, kill -9
of the leader, catch-up after a restart, recovery after a clean stop of everything, and garbage
on a peer port. Every wait polls with a deadline; every process is stopped by the fixture."""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pyxos.core.multipaxos.messages import ViewChange
from pyxos.runtime.config import HostPort, cluster_toml
from pyxos.runtime.ports import free_port_base, free_ports
from pyxos.wire.frames import encode_frame
from pyxos.wire.peer import PeerCodec

T = TypeVar("T")
START_DEADLINE_S = 20.0
# The election timeout is 30..240 ticks of 10 ms plus jitter; a new leader needs a few of them
# at most, and the request itself may wait up to its own 5 s timeout once.
FAILOVER_DEADLINE_S = 15.0
POLL_S = 0.05


def poll(what: str, check: Callable[[], T | None], deadline_s: float) -> T:
    """Call `check` until it returns something other than None (or False); fail at the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {deadline_s}s")
        time.sleep(POLL_S)


class Cluster:
    """N node processes from one cluster file in `tmp_path`."""

    def __init__(self, root: Path, size: int = 3, timers: dict[str, int] | None = None) -> None:
        self.root = root
        self.ids = list(range(1, size + 1))
        ports = iter(free_ports(3 * size))
        self.http = {k: HostPort(host="127.0.0.1", port=next(ports)) for k in self.ids}
        peers = {k: HostPort(host="127.0.0.1", port=next(ports)) for k in self.ids}
        self.peer = peers
        # Explicit client ports: the default (HTTP port + 1000) could be taken on this machine.
        clients = {k: HostPort(host="127.0.0.1", port=next(ports)) for k in self.ids}
        self.config = root / "cluster.toml"
        self.config.write_text(
            cluster_toml(
                cluster="test-cluster",
                nodes=[(k, peers[k], self.http[k], clients[k]) for k in self.ids],
                data_dir=".",
                timers=timers,
            )
        )
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, k: int, *extra: str) -> None:
        assert k not in self.procs or self.procs[k].poll() is not None
        command = [sys.executable, "-m", "pyxos.cli.node_cmd"]
        command += ["--config", str(self.config), "--id", str(k), *extra]
        with open(self.root / f"node-{k}.log", "ab") as log:
            self.procs[k] = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def start_all(self) -> None:
        for k in self.ids:
            self.start(k)
        for k in self.ids:
            self.wait_healthy(k)

    def wait_healthy(self, k: int) -> None:
        def healthy() -> bool:
            code = self.procs[k].poll()
            if code is not None:
                raise AssertionError(f"node {k} exited with {code}:\n{self.log(k)}")
            status, _ = self.request(k, "GET", "/healthz")
            return status == 200

        poll(f"node {k} healthy", healthy, START_DEADLINE_S)

    def kill(self, k: int) -> None:
        self.procs[k].send_signal(signal.SIGKILL)
        self.procs[k].wait(timeout=10)

    def terminate_all(self) -> None:
        for k in self.ids:
            self.procs[k].send_signal(signal.SIGTERM)
        for k in self.ids:
            assert self.procs[k].wait(timeout=15) == 0, self.log(k)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)

    def log(self, k: int) -> str:
        return (self.root / f"node-{k}.log").read_text(errors="replace")[-4000:]

    def request(
        self, k: int, method: str, path: str, body: bytes | None = None, timeout: float = 10.0
    ) -> tuple[int, Any]:
        """`(status, decoded JSON)`; `(0, None)` if the node does not answer."""
        url = f"http://{self.http[k]}{path}"
        req = urllib.request.Request(url, data=body, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
        except (OSError, urllib.error.URLError):
            return 0, None

    def put(self, k: int, key: str, value: bytes, deadline_s: float) -> None:
        """PUT until it succeeds. Retrying after a timeout is safe here: it writes one value."""

        def attempt() -> bool:
            status, _ = self.request(k, "PUT", f"/v1/kv/{key}", value)
            return status == 200

        poll(f"PUT {key} through node {k}", attempt, deadline_s)

    def get(self, k: int, key: str, deadline_s: float = FAILOVER_DEADLINE_S) -> Any:
        def attempt() -> Any:
            status, body = self.request(k, "GET", f"/v1/kv/{key}")
            return body if status in (200, 404) else None

        return poll(f"GET {key} through node {k}", attempt, deadline_s)

    def status(self, k: int) -> dict[str, Any]:
        code, body = self.request(k, "GET", "/status")
        assert code == 200, body
        result: dict[str, Any] = body
        return result

    def leader(self, among: list[int]) -> int:
        def find() -> int | None:
            leaders = [k for k in among if self.status(k)["role"] == "leader"]
            return leaders[0] if len(leaders) == 1 else None

        return poll("exactly one leader", find, FAILOVER_DEADLINE_S)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def test_failover_catch_up_and_recovery(cluster: Cluster) -> None:
    cluster.start_all()
    cluster.put(1, "hello", b"world", FAILOVER_DEADLINE_S)
    assert cluster.get(2, "hello") == {"key": "hello", "value": "world"}
    assert cluster.get(3, "hello") == {"key": "hello", "value": "world"}

    leader = cluster.leader(cluster.ids)
    cluster.kill(leader)
    survivors = [k for k in cluster.ids if k != leader]
    started = time.monotonic()
    cluster.put(survivors[0], "after", b"failover", FAILOVER_DEADLINE_S)
    failover_s = time.monotonic() - started
    assert cluster.get(survivors[1], "after") == {"key": "after", "value": "failover"}
    assert cluster.leader(survivors) in survivors

    # The killed node restarts and catches up to the others' applied index.
    cluster.start(leader)
    cluster.wait_healthy(leader)

    def caught_up() -> bool:
        applied = [cluster.status(k)["applied_index"] for k in cluster.ids]
        return len(set(applied)) == 1 and applied[0] >= 2

    poll(f"node {leader} catches up", caught_up, FAILOVER_DEADLINE_S)
    stale = cluster.request(leader, "GET", "/v1/kv/after?consistency=stale")
    assert stale == (200, {"key": "after", "value": "failover"})

    # Stop everything cleanly, start again: the data is recovered from disk.
    cluster.terminate_all()
    cluster.start_all()
    for k in cluster.ids:
        assert cluster.get(k, "hello") == {"key": "hello", "value": "world"}
        assert cluster.get(k, "after") == {"key": "after", "value": "failover"}
    cluster.put(2, "third", b"run", FAILOVER_DEADLINE_S)
    assert cluster.get(1, "third") == {"key": "third", "value": "run"}
    print(f"failover write took {failover_s:.2f}s")


def test_a_node_far_behind_catches_up_through_a_snapshot(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, timers={"snapshot_every_slots": 5})
    try:
        cluster.start_all()
        cluster.put(1, "k0", b"v0", FAILOVER_DEADLINE_S)
        cluster.kill(3)
        for i in range(1, 30):
            cluster.put(1 + i % 2, f"k{i}", f"v{i}".encode(), FAILOVER_DEADLINE_S)
        assert cluster.status(1)["counters"]["snapshots_saved"] >= 1
        cluster.start(3)
        cluster.wait_healthy(3)

        def caught_up() -> bool:
            applied = [cluster.status(k)["applied_index"] for k in cluster.ids]
            return len(set(applied)) == 1

        poll("node 3 catches up", caught_up, FAILOVER_DEADLINE_S)
        for i in range(30):
            answer = cluster.request(3, "GET", f"/v1/kv/k{i}?consistency=stale")
            assert answer == (200, {"key": f"k{i}", "value": f"v{i}"})
        # And node 3 restarts from its own snapshot.
        cluster.terminate_all()
        cluster.start_all()
        assert cluster.get(3, "k29") == {"key": "k29", "value": "v29"}
    finally:
        cluster.close()


def test_garbage_on_the_peer_port_does_not_hurt_the_node(cluster: Cluster) -> None:
    cluster.start_all()
    cluster.put(1, "k", b"before", FAILOVER_DEADLINE_S)
    target = 2
    address = cluster.peer[target]
    rng = random.Random(5)
    junk = [
        rng.randbytes(5000),
        encode_frame(b"not msgpack at all"),
        encode_frame(PeerCodec(cluster="another").encode(sender=1, message=ViewChange(view=1))),
        encode_frame(
            PeerCodec(cluster="test-cluster").encode(sender=42, message=ViewChange(view=1))
        ),
        b"\xff\xff\xff\xff",
        b"GET / HTTP/1.1\r\n\r\n",
    ]
    for data in junk:
        with socket.create_connection((address.host, address.port), timeout=5) as s:
            s.sendall(data)
    # Still serving, still part of the cluster.
    cluster.put(target, "k", b"after", FAILOVER_DEADLINE_S)
    assert cluster.get(3, "k") == {"key": "k", "value": "after"}
    assert cluster.procs[target].poll() is None

    def rejected() -> bool:
        return bool(cluster.status(target)["transport"]["frames_rejected"] >= 3)

    poll("garbage counted", rejected, 5.0)


def test_http_errors_from_a_real_node(cluster: Cluster) -> None:
    cluster.start_all()
    status, body = cluster.request(1, "PUT", "/v1/kv/" + "k" * 2000, b"v")
    assert (status, body["code"]) == (413, "too_large")
    status, body = cluster.request(1, "PUT", "/v1/kv/big", b"x" * (1024 * 1024 + 1))
    assert (status, body["code"]) == (413, "too_large")
    status, body = cluster.request(1, "GET", "/v1/no/such/route")
    assert (status, body["code"]) == (404, "not_found")
    status, body = cluster.request(1, "PATCH", "/v1/kv/k", b"v")
    assert (status, body["code"]) == (405, "method_not_allowed")
    assert cluster.get(2, "big") == {"code": "key_not_found", "message": "no key 'big'"}


def test_pyxos_up_starts_stops_and_recovers(tmp_path: Path) -> None:
    base = free_port_base(3)
    data = tmp_path / "cluster"
    command = [sys.executable, "-m", "pyxos.cli.up_cmd", "--data-dir", str(data)]
    command += ["--base-port", str(base)]

    def end(proc: subprocess.Popen[str]) -> None:
        # SIGTERM, not SIGKILL: `up` must stop its nodes (they run in their own sessions).
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def up() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + START_DEADLINE_S * 2
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "Ctrl-C stops the cluster" in line:
                return proc
            if time.monotonic() > deadline:
                break
        end(proc)
        raise AssertionError("pyxos up did not come up:\n" + "".join(seen))

    def request(port: int, method: str, path: str, body: bytes | None = None) -> Any:
        """The JSON of the first 200 answer (an election may still be under way)."""
        url = f"http://127.0.0.1:{port}{path}"

        def attempt() -> Any:
            req = urllib.request.Request(url, data=body, method=method)
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return json.loads(r.read())
            except (OSError, urllib.error.URLError):
                return None

        return poll(f"{method} {url}", attempt, FAILOVER_DEADLINE_S)

    def stop(proc: subprocess.Popen[str]) -> None:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        for k in range(3):  # every node is gone: its port refuses connections
            with pytest.raises(OSError), socket.create_connection(("127.0.0.1", base + k), 1):
                pass

    proc = up()
    try:
        assert request(base, "PUT", "/v1/kv/hello", b"world") == {"key": "hello", "previous": None}
        assert request(base + 1, "GET", "/v1/kv/hello") == {"key": "hello", "value": "world"}
        stop(proc)
        proc = up()  # the same data directory: the data is recovered
        assert request(base + 2, "GET", "/v1/kv/hello") == {"key": "hello", "value": "world"}
        stop(proc)
    finally:
        end(proc)


def raw(cluster: Cluster, k: int, method: str, path: str, body: bytes | None = None) -> bytes:
    """A request whose answer is not JSON (Paxi's routes); fails on a non-200 answer."""
    req = urllib.request.Request(f"http://{cluster.http[k]}{path}", data=body, method=method)
    with urllib.request.urlopen(req, timeout=FAILOVER_DEADLINE_S) as r:
        assert r.status == 200
        answer: bytes = r.read()
        return answer


def test_each_route_family_reads_what_another_node_wrote(cluster: Cluster) -> None:
    cluster.start_all()
    # /v1 writes through node 1; GoPaxos reads on node 2, Paxi on node 3.
    cluster.put(1, "fam1", b"one", FAILOVER_DEADLINE_S)
    assert cluster.request(2, "GET", "/store/get/fam1") == (200, {"key": "fam1", "value": "one"})
    assert raw(cluster, 3, "GET", "/fam1") == b"one"
    # GoPaxos writes through node 2; /v1 reads on node 3, Paxi on node 1.
    body = json.dumps({"key": "fam2", "value": "two"}).encode()
    assert cluster.request(2, "POST", "/store/set", body)[0] == 200
    assert cluster.get(3, "fam2") == {"key": "fam2", "value": "two"}
    assert raw(cluster, 1, "GET", "/fam2") == b"two"
    # Paxi writes through node 3; /v1 reads on node 1, GoPaxos on node 2.
    assert raw(cluster, 3, "PUT", "/fam3", b"three") == b""
    assert cluster.get(1, "fam3") == {"key": "fam3", "value": "three"}
    assert cluster.request(2, "GET", "/store/get/fam3") == (200, {"key": "fam3", "value": "three"})

    # The leader's /status reports how far each peer is behind (from heartbeat acks).
    leader = cluster.leader(cluster.ids)

    def caught_up() -> dict[str, int] | None:
        lag: dict[str, int] = cluster.status(leader)["lag"]
        peers = {str(k) for k in cluster.ids if k != leader}
        return lag if set(lag) == peers and all(n == 0 for n in lag.values()) else None

    poll("every peer's lag is 0 on the leader", caught_up, FAILOVER_DEADLINE_S)
