"""PySyncObj: three `pysyncobj_member` processes on loopback, each a `SyncObj` with its journal
file made durable, driven through their TCP front ends, every request to the leader; once with
PySyncObj's batching of appends (its default) and once without.

The members run under the interpreter of a separate virtual environment holding PySyncObj
(`.venv-peers`, installed from requirements/peers.lock; `peers_python()` finds it), so that
pyxos's own environment does not carry a peer's dependency. Each closed-loop worker has its own
connection with one request in flight.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path
from typing import Any

from pyxos.bench.peers import pysyncobj_member as wire
from pyxos.bench.peers.members import Members, StartFailedError
from pyxos.bench.transport import OpFailed, Transport
from pyxos.runtime.ports import free_ports

MEMBERS = 3
PEERS_VENV = ".venv-peers"
PEERS_LOCK = "requirements/peers.lock"
PYTHON_ENV = "PYXOS_PEERS_PYTHON"
INSTALL_HINT = (
    f"PySyncObj's interpreter not found: `make compare` creates {PEERS_VENV} from {PEERS_LOCK}, "
    f"or set {PYTHON_ENV} to a python that can `import pysyncobj`"
)


def peers_python(start: Path | None = None) -> Path | None:
    """`$PYXOS_PEERS_PYTHON`, or `.venv-peers/bin/python` in the current directory or the
    nearest parent of this source file that has one; None if there is none."""
    given = os.environ.get(PYTHON_ENV)
    if given:
        return Path(given)
    places = [Path.cwd(), *Path(start or __file__).resolve().parents]
    for place in places:
        candidate = place / PEERS_VENV / "bin" / "python"
        if candidate.exists():
            return candidate
    return None


class PySyncObjCluster:
    """PySyncObj as it ships (`tcp-batch`: commands go to the followers in batches, every
    `appendEntriesPeriod`, 0.1 s) and with `appendEntriesUseBatch=False` (`tcp-nobatch`: each
    command is sent at once). Batching is a start-up setting, so `prepare` restarts the members
    (with a fresh journal) when the protocol changes."""

    system: str = "pysyncobj"
    protocols: tuple[str, ...] = ("tcp-batch", "tcp-nobatch")

    def __init__(self, directory: Path, *, durable: bool = True) -> None:
        self._directory = directory
        self._durable = durable
        self._members: Members | None = None
        self._protocol = ""
        self.leader = ""

    @classmethod
    def start(cls, directory: Path, *, durable: bool = True) -> PySyncObjCluster:
        """Members with their journals in `directory`, for the first protocol; see `prepare`."""
        cluster = cls(directory, durable=durable)
        cluster.prepare(cls.protocols[0])
        return cluster

    def prepare(self, protocol: str) -> None:
        """Have members configured for `protocol` running; return once they agree on a leader
        that has applied its log. Raises `StartFailedError` (the members are stopped)."""
        if protocol not in self.protocols:
            raise ValueError(f"PySyncObj runs as {', '.join(self.protocols)}, not {protocol}")
        if protocol == self._protocol:
            return
        self.stop()
        directory = self._directory / protocol
        directory.mkdir()
        self._members, self.leader = _start_members(
            directory, durable=self._durable, batch=protocol == "tcp-batch"
        )
        self._protocol = protocol

    @property
    def pids(self) -> list[int]:
        return [] if self._members is None else self._members.pids

    def transport(self, protocol: str, *, workers: int, timeout_s: float) -> Transport:
        if protocol != self._protocol:
            raise ValueError(f"the members run as {self._protocol}, not {protocol}")
        return FrontEndTransport(self.leader, timeout_s=timeout_s)

    def stop(self) -> None:
        if self._members is not None:
            self._members.stop()
            self._members = None
            self._protocol = ""


def _start_members(directory: Path, *, durable: bool, batch: bool) -> tuple[Members, str]:
    """`(members, the leader's front end)`."""
    python = peers_python()
    if python is None:
        raise StartFailedError(INSTALL_HINT)
    ports = free_ports(2 * MEMBERS)
    raft = [f"127.0.0.1:{p}" for p in ports[:MEMBERS]]
    fronts = [f"127.0.0.1:{p}" for p in ports[MEMBERS:]]
    members = Members(directory)
    try:
        for k in range(MEMBERS):
            others = [a for a in raft if a != raft[k]]
            members.start(
                f"pysyncobj-{k + 1}",
                [str(python), "-P", wire.__file__, "--self", raft[k]]
                + ["--partners", ",".join(others), "--front", fronts[k]]
                + ["--journal", str(directory / f"journal-{k + 1}")]
                + ([] if durable else ["--no-sync"])
                + ([] if batch else ["--no-batch"]),
            )
        found: list[str] = []

        def leader_ready() -> bool:
            statuses = [status_of(f) for f in fronts]
            leaders = {None if s is None else s.get("leader") for s in statuses}
            if len(leaders) != 1 or None in leaders:
                return False
            leader = raft.index(str(leaders.pop()))
            found[:] = [fronts[leader]]
            status = statuses[leader]
            return status is not None and bool(status.get("ready"))

        members.wait_until(leader_ready, "PySyncObj members agree on a ready leader")
    except BaseException:
        members.stop()
        raise
    return members, found[0]


def status_of(front_end: str, timeout_s: float = 1.0) -> dict[str, Any] | None:
    """A member's status (`self`, `leader`, `ready`, `has_quorum`), or None if it does not
    answer. Blocking: for start-up, outside the event loop."""
    host, port = front_end.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as s:
            s.sendall(wire.encode_request(wire.Request(op=wire.OP_STATUS, request_id=1)))
            data = b""
            while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
                chunk = s.recv(65536)
                if not chunk:
                    return None
                data += chunk
        answer = wire.decode_answer(data[4:])
        status = json.loads(answer.payload)
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.next_id = 1


class FrontEndTransport:
    """One connection per worker to a member's front end, one request in flight on each."""

    def __init__(self, front_end: str, *, timeout_s: float) -> None:
        host, port = front_end.rsplit(":", 1)
        self._host = host
        self._port = int(port)
        self._timeout_s = timeout_s
        self._connections: dict[int, _Connection] = {}

    async def put(self, worker: int, key: str, value: bytes) -> bytes | None:
        await self._call(worker, wire.OP_PUT, key, value)
        return None

    async def get(self, worker: int, key: str) -> bytes | None:
        return await self._call(worker, wire.OP_GET, key, b"")

    async def _call(self, worker: int, op: int, key: str, value: bytes) -> bytes | None:
        try:
            async with asyncio.timeout(self._timeout_s):
                answer = await self._exchange(worker, op, key.encode(), value)
        except TimeoutError:
            self._drop(worker)
            raise OpFailed("timeout", f"no answer within {self._timeout_s:g}s") from None
        except (OSError, asyncio.IncompleteReadError, wire.FrameError) as exc:
            self._drop(worker)
            raise OpFailed("connection", str(exc)) from None
        if answer.status == wire.NOT_FOUND:
            return None
        if answer.status != wire.OK:
            raise OpFailed("failed", answer.payload.decode(errors="replace"))
        return answer.payload

    async def _exchange(self, worker: int, op: int, key: bytes, value: bytes) -> wire.Answer:
        conn = self._connections.get(worker)
        if conn is None:
            reader, writer = await asyncio.open_connection(self._host, self._port)
            conn = self._connections[worker] = _Connection(reader, writer)
        request_id = conn.next_id
        conn.next_id = conn.next_id % wire.REQUEST_ID_MAX + 1
        conn.writer.write(
            wire.encode_request(wire.Request(op=op, request_id=request_id, key=key, value=value))
        )
        answer = wire.decode_answer(await wire.read_frame(conn.reader))
        if answer.request_id != request_id:
            raise wire.FrameError(f"answer to request {answer.request_id}, not {request_id}")
        return answer

    def _drop(self, worker: int) -> None:
        conn = self._connections.pop(worker, None)
        if conn is not None:
            conn.writer.close()

    async def aclose(self) -> None:
        for worker in list(self._connections):
            self._drop(worker)
