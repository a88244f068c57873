"""etcd: three `etcd` members on loopback (Debian's `etcd-server`, 3.4), driven through its
HTTP/JSON gateway with aiohttp, every request to the leader (etcd forwards writes to the leader
itself; sending them there saves that hop, as the peers' figures were taken).

`POST /v3/kv/put` takes `{"key": b64, "value": b64}`; `POST /v3/kv/range` with `{"key": b64}`
is linearizable unless the body says `"serializable": true`, and answers `{"kvs": [{"value":
b64}]}` (no `kvs` when the key is absent). The WAL is fsynced for every Raft batch (etcd's
default; 3.4 has no switch to turn it off).
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from pyxos.bench.peers.members import Members, StartFailedError
from pyxos.bench.transport import OpFailed, Transport
from pyxos.runtime.ports import free_ports

MEMBERS = 3
INSTALL_HINT = "etcd is not on PATH: `apt-get install -y etcd-server` (or `make compare`)"


class _Kv(msgspec.Struct):
    value: str = ""


class _Range(msgspec.Struct):
    kvs: list[_Kv] = msgspec.field(default_factory=list)


class _Error(msgspec.Struct):
    error: str = ""
    message: str = ""
    code: int = 0


_RANGE = msgspec.json.Decoder(_Range)
_ERROR = msgspec.json.Decoder(_Error)


def etcd_binary() -> str | None:
    return shutil.which("etcd")


class EtcdCluster:
    system: str = "etcd"
    protocols: tuple[str, ...] = ("http",)

    def __init__(self, members: Members, clients: list[str], leader: str) -> None:
        self._members = members
        self.clients = clients
        self.leader = leader

    @classmethod
    def start(cls, directory: Path) -> EtcdCluster:
        """Start the members with data in `directory`; return once they elected a leader.
        Raises `StartFailedError` (the members are stopped) if etcd is missing or fails."""
        binary = etcd_binary()
        if binary is None:
            raise StartFailedError(INSTALL_HINT)
        ports = free_ports(2 * MEMBERS)
        clients = [f"127.0.0.1:{p}" for p in ports[:MEMBERS]]
        peers = [f"http://127.0.0.1:{p}" for p in ports[MEMBERS:]]
        names = [f"etcd-{k}" for k in range(1, MEMBERS + 1)]
        initial = ",".join(f"{n}={p}" for n, p in zip(names, peers, strict=True))
        token = f"bench-{secrets.token_hex(4)}"
        members = Members(directory)
        try:
            for name, client, peer in zip(names, clients, peers, strict=True):
                members.start(
                    name,
                    [
                        binary,
                        f"--name={name}",
                        f"--data-dir={directory / name}",
                        f"--listen-client-urls=http://{client}",
                        f"--advertise-client-urls=http://{client}",
                        f"--listen-peer-urls={peer}",
                        f"--initial-advertise-peer-urls={peer}",
                        f"--initial-cluster={initial}",
                        f"--initial-cluster-token={token}",
                        "--initial-cluster-state=new",
                        "--logger=zap",
                        "--log-level=error",
                    ],
                )
            found: list[str] = []

            def leader_known() -> bool:
                leaders = {_leader_member(c) for c in clients}
                found[:] = [c for c in clients if _member_id(c) in leaders and None not in leaders]
                return len(leaders) == 1 and len(found) == 1

            members.wait_until(leader_known, "etcd members agree on a leader")
        except BaseException:
            members.stop()
            raise
        return cls(members, clients, found[0])

    @property
    def pids(self) -> list[int]:
        return self._members.pids

    def prepare(self, protocol: str) -> None:
        if protocol not in self.protocols:
            raise ValueError(f"{self.system} speaks {', '.join(self.protocols)}, not {protocol}")

    def transport(self, protocol: str, *, workers: int, timeout_s: float) -> Transport:
        if protocol != "http":
            raise ValueError(f"etcd is driven over http here, not {protocol}")
        return EtcdTransport(self.leader, timeout_s=timeout_s)

    def stop(self) -> None:
        self._members.stop()


def _status(client: str) -> dict[str, Any] | None:
    request = urllib.request.Request(
        f"http://{client}/v3/maintenance/status", data=b"{}", method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=1) as answer:
            body = json.loads(answer.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return body if isinstance(body, dict) else None


def _leader_member(client: str) -> str | None:
    status = _status(client)
    leader = None if status is None else status.get("leader")
    return str(leader) if leader not in (None, "0", 0) else None


def _member_id(client: str) -> str | None:
    status = _status(client)
    header = None if status is None else status.get("header")
    member = header.get("member_id") if isinstance(header, dict) else None
    return None if member is None else str(member)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class EtcdTransport:
    """Puts and linearizable ranges on one member's JSON gateway, over keep-alive
    connections (one per closed-loop worker, as each has one request in flight)."""

    def __init__(self, client: str, *, timeout_s: float) -> None:
        self._put = f"http://{client}/v3/kv/put"
        self._range = f"http://{client}/v3/kv/range"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
                timeout=self._timeout,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def put(self, worker: int, key: str, value: bytes) -> bytes | None:
        body = {"key": _b64(key.encode()), "value": _b64(value)}
        await self._post(self._put, body)
        return None

    async def get(self, worker: int, key: str) -> bytes | None:
        answer = _RANGE.decode(await self._post(self._range, {"key": _b64(key.encode())}))
        if not answer.kvs:
            return None
        return base64.b64decode(answer.kvs[0].value)

    async def _post(self, url: str, body: dict[str, str]) -> bytes:
        try:
            async with self._http().post(url, data=msgspec.json.encode(body)) as response:
                data = await response.read()
                status = response.status
        except TimeoutError:
            raise OpFailed("timeout", f"no answer within {self._timeout.total}s") from None
        except aiohttp.ClientError as exc:
            raise OpFailed("connection", str(exc)) from None
        if status != 200:
            try:
                error = _ERROR.decode(data)
            except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
                raise OpFailed(f"http_{status}") from None
            raise OpFailed(f"etcd_{error.code}", error.message or error.error)
        return data

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
