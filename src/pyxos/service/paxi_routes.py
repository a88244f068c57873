"""The Paxi routes: `GET /<key>`, `PUT|POST /<key>` with the raw value, `POST /` with a JSON
command, and the `Id`/`Cid` headers Paxi's clients send with every request.

- `GET /<key>` -> the value as the raw body (`application/octet-stream`). An absent key reads
  as an empty body, as Paxi's servers answer (its client takes any other status for a failure);
  the reply header `Pyxos-Found` (`true` / `false`) tells an empty value from an absent key.
- `PUT|POST /<key>` with the value as the raw body -> the previous value as the raw body (empty
  if there was none, as Paxi answers).
- `POST /` with `{"Key": str | int, "Value"?: str | null, "ClientID"?: str, "CommandID"?: int,
  "Encoding"?: "base64" | "utf-8"}`: a write of `Value`, or a read when `Value` is absent or
  null (Paxi's convention). `Value` is base64 by default, which is how Go's encoding/json
  (Paxi's client) sends a `[]byte`; `"Encoding": "utf-8"` takes it as plain text. Field names
  match without regard to case, as Go's decoder matches them.

`Id` and `Cid` are labels by default, as Paxi's own servers treat them: echoed in the reply and
nothing else. Paxi's clients need exactly that: without `-id` the client sends an empty `Id`;
a client process starts its `Cid` at 1 on every run, under the same `Id` as the last run; and
its benchmark's workers share one `Id` and one unlocked `Cid` counter, so requests carry the
same `Cid` or arrive out of order. Each such write is applied as a command of its own.

Exactly-once is there for a client that asks: with the request header `Pyxos-Session:
exactly-once`, `Id` (any client id string) and `Cid` (an integer >= 1, increasing per client;
one command at a time per `Id`) are required, or the body's `ClientID` / `CommandID` stand in
for them. `Id` is hashed to a 63-bit client id at or above `CLIENT_ID_MIN`, and the write runs
under the session `(client id, Cid)`: sent again with the same `Id`/`Cid`, it is applied once
and the retry gets the first answer (even if its value differs). A `Cid` below that client's
last applied one is refused (409 `stale_command`).

Reply headers: `Id` and `Cid` echoed when given; `Ballot` (the node's promised ballot); `Slot`:
for a write, the slot that decided it, as Paxi's reply carries; for a read, and for an
exactly-once write sent again after it was answered (answered from the session table, which
keeps no slots), this node's applied index when it answered (for such a retry, at least the
slot that decided the write).

Faults (Paxi's admin routes, only with fault injection on; else 404 `fault_injection_disabled`):
`GET /drop?id=NODE&t=SECONDS` drops this node's messages to NODE, `GET /slow?id=NODE&delay=MS
&t=SECONDS` delays them, `GET /flaky?id=NODE&p=PROB&t=SECONDS` drops each with probability
PROB; `/crash?t=SECONDS` is with GoPaxos' `/crash`. NODE is a node id, or Paxi's `zone.node`.
Each answers `{"ok": true, "node", "fault"}`.

Precedence: the specific routes own their paths. A key whose first path segment is one of
`RESERVED` (e.g. `status`, `v1`, `store`) is not served here (404 `not_found`); such keys are
read and written through `/v1/kv/<key>`.
"""

from __future__ import annotations

import hashlib
import re

import msgspec
from aiohttp import web

from pyxos.runtime.requests import CLIENT_ID_MIN
from pyxos.service.admin_routes import add_fault, query_number, require_fault_injection
from pyxos.service.errors import ApiError, Routes, json_response
from pyxos.service.go_json import read_go_json
from pyxos.service.inputs import (
    VALUE_BYTES_MAX,
    Encoding,
    check_key,
    decode_value,
    linearizable,
    path_key,
    read_body,
)
from pyxos.service.kv_ops import KvStore

RESERVED = frozenset(
    {
        "v1",
        "store",
        "log",
        "status",
        "metrics",
        "healthz",
        "openapi.json",
        "crash",
        "drop",
        "slow",
        "flaky",
    }
)
"""First path segments that belong to other routes, never to a Paxi key."""
SESSION_HEADER = "Pyxos-Session"
EXACTLY_ONCE = "exactly-once"
"""The `Pyxos-Session` value that makes `Id`/`Cid` an exactly-once session."""
FOUND_HEADER = "Pyxos-Found"
"""On a read's reply: `true` if the key is present, `false` if the empty body means absent."""
CLIENT_ID_SPAN = (1 << 63) - CLIENT_ID_MIN
ID_BYTES_MAX = 256
CID_MAX = (1 << 63) - 1
_CID = re.compile(r"[0-9]{1,19}")
_NODE = re.compile(r"(?:[0-9]{1,9}\.)?([0-9]{1,9})")
# A session's client id: printable ASCII without spaces. A label may be empty (Paxi's client
# without `-id`) and hold spaces. Both are echoed as a header, so they must survive that.
_ID = re.compile(rf"[\x21-\x7e]{{1,{ID_BYTES_MAX}}}")
_LABEL = re.compile(rf"[\x20-\x7e]{{0,{ID_BYTES_MAX}}}")
_OCTETS = "application/octet-stream"


class PaxiCommand(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: str | int = msgspec.field(name="Key")
    value: str | None = msgspec.field(name="Value", default=None)
    client_id: str | None = msgspec.field(name="ClientID", default=None)
    command_id: int | None = msgspec.field(name="CommandID", default=None)
    encoding: Encoding = msgspec.field(name="Encoding", default="base64")


def client_id_of(name: str) -> int:
    """The 63-bit client id of Paxi client `name`: the same on every node and every run, at or
    above `CLIENT_ID_MIN` (below are the nodes' own pools)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return CLIENT_ID_MIN + int.from_bytes(digest, "big") % CLIENT_ID_SPAN


def exactly_once(mode: str | None) -> bool:
    """Whether the `Pyxos-Session` header `mode` asks for an exactly-once session."""
    if mode is None:
        return False
    if mode.strip().lower() != EXACTLY_ONCE:
        raise ApiError(
            "bad_header",
            f"{SESSION_HEADER} must be {EXACTLY_ONCE!r} (or absent: Id and Cid are then "
            f"labels), not {mode!r}",
        )
    return True


def session_of(
    id_text: str | None, cid_text: str | None, *, once: bool
) -> tuple[tuple[int, int] | None, dict[str, str]]:
    """The session of `Id`/`Cid` and the headers that echo them.

    Labels (`once=False`): no session; `Id` and `Cid` may each be absent, `Id` empty (Paxi's
    client without `-id`), and `Cid` any integer from 0. Exactly-once: both are required, `Id`
    not empty and `Cid` from 1. Raises `ApiError("bad_header")`.
    """
    echo = {n: t for n, t in (("Id", id_text), ("Cid", cid_text)) if t is not None}
    if id_text is not None and not (_ID if once else _LABEL).fullmatch(id_text):
        shape = "1.." if once else "at most "
        raise ApiError(
            "bad_header",
            f"Id (or ClientID) must be {shape}{ID_BYTES_MAX} printable ASCII characters",
        )
    low = 1 if once else 0
    if cid_text is not None and not (_CID.fullmatch(cid_text) and low <= int(cid_text)):
        raise ApiError(
            "bad_header",
            f"Cid (or CommandID) must be an integer from {low} to {CID_MAX}, not {cid_text!r}",
        )
    if not once:
        return None, echo
    if id_text is None or cid_text is None:
        raise ApiError(
            "bad_header",
            f"{SESSION_HEADER}: {EXACTLY_ONCE} needs both Id and Cid (or ClientID and "
            "CommandID); without them, leave the header out",
        )
    return (client_id_of(id_text), int(cid_text)), echo


class PaxiRoutes:
    """The Paxi handlers, bound to one node's store."""

    def __init__(self, store: KvStore, *, fault_injection: bool = False) -> None:
        self._store = store
        self._fault_injection = fault_injection

    def routes(self) -> Routes:
        """`POST /` (which shares `/` with the status page), the fault routes, and the
        catch-all `/{key}`, which must be registered after every other route."""
        return {
            "/": {"POST": self.command},
            "/drop": {"GET": self.drop},
            "/slow": {"GET": self.slow},
            "/flaky": {"GET": self.flaky},
            "/{key:.+}": {"GET": self.get, "PUT": self.put, "POST": self.put},
        }

    async def drop(self, request: web.Request) -> web.Response:
        return self._fault(request, "drop")

    async def slow(self, request: web.Request) -> web.Response:
        return self._fault(request, "slow")

    async def flaky(self, request: web.Request) -> web.Response:
        return self._fault(request, "flaky")

    def _fault(self, request: web.Request, kind: str) -> web.Response:
        require_fault_injection(self._fault_injection, f"/{kind}")
        text = request.query.get("id", "")
        match = _NODE.fullmatch(text)
        if match is None:
            raise ApiError("bad_request", f"id must be a node id (or zone.node), not {text!r}")
        delay_ms = round(query_number(request, "delay")) if kind == "slow" else 0
        p = query_number(request, "p") if kind == "flaky" else 0.0
        runner = self._store.runner
        view = add_fault(
            runner,
            kind,
            duration_s=query_number(request, "t"),
            peers=(int(match.group(1)),),
            delay_ms=delay_ms,
            p=p,
        )
        return json_response({"ok": True, "node": runner.node_id, "fault": view})

    async def get(self, request: web.Request) -> web.Response:
        key = self._key(request)
        exactly_once(request.headers.get(SESSION_HEADER))  # checked; a read has no session
        _, echo = session_of(request.headers.get("Id"), request.headers.get("Cid"), once=False)
        return await self._read(request, key, echo)

    async def put(self, request: web.Request) -> web.Response:
        key = self._key(request)
        once = exactly_once(request.headers.get(SESSION_HEADER))
        session, echo = session_of(request.headers.get("Id"), request.headers.get("Cid"), once=once)
        value = await read_body(request, VALUE_BYTES_MAX)
        return await self._write(key, value, session, echo)

    async def command(self, request: web.Request) -> web.Response:
        once = exactly_once(request.headers.get(SESSION_HEADER))
        id_text, cid_text = request.headers.get("Id"), request.headers.get("Cid")
        body = await read_go_json(request, PaxiCommand)
        if body.client_id is not None:
            if id_text is not None and id_text != body.client_id:
                raise ApiError("bad_header", "the Id header and ClientID disagree")
            id_text = body.client_id
        if body.command_id is not None:
            if cid_text is not None and cid_text != str(body.command_id):
                raise ApiError("bad_header", "the Cid header and CommandID disagree")
            cid_text = str(body.command_id)
        session, echo = session_of(id_text, cid_text, once=once and body.value is not None)
        raw_key = body.key if isinstance(body.key, str) else str(body.key)
        key = check_key(raw_key, code_if_bad="invalid_body")
        if body.value is None:
            return await self._read(request, key, echo)
        value = decode_value(body.value, body.encoding, "Value")
        return await self._write(key, value, session, echo)

    def _key(self, request: web.Request) -> str:
        key = request.match_info["key"]
        if key.split("/", 1)[0] in RESERVED:
            if request.raw_path.startswith("/log/print/"):
                # `/log/print/..` (or `.`): the URL parser folded the segment away before
                # routing, so the log route never saw the bad file name.
                raise ApiError("bad_file_name", f"{request.raw_path!r}: not one safe segment")
            raise ApiError("not_found", f"no route {request.path!r}; use /v1/kv for such keys")
        return path_key(request)

    async def _read(self, request: web.Request, key: str, echo: dict[str, str]) -> web.Response:
        value = await self._store.get(key, linearizable=linearizable(request))
        headers = {**self._headers(echo), FOUND_HEADER: "false" if value is None else "true"}
        return web.Response(body=value or b"", content_type=_OCTETS, headers=headers)

    async def _write(
        self,
        key: str,
        value: bytes,
        session: tuple[int, int] | None,
        echo: dict[str, str],
    ) -> web.Response:
        if session is not None:
            # The node would drop a command older than the client's last one without a word,
            # and the request would wait for its deadline: refuse it now instead. (A node
            # behind the others may not know the last one yet; then the deadline it is.)
            last = self._store.runner.node.sessions.last_seq(session[0])
            if session[1] < last:
                raise ApiError(
                    "stale_command",
                    f"Cid {session[1]} is older than this client's last applied Cid {last}",
                )
        previous, slot = await self._store.put_at(key, value, session=session)
        return web.Response(
            body=previous or b"", content_type=_OCTETS, headers=self._headers(echo, slot)
        )

    def _headers(self, echo: dict[str, str], slot: int = 0) -> dict[str, str]:
        """The reply headers; `Slot` is `slot`, or this node's applied index without one (a
        read, or a duplicate write answered from the session table)."""
        return {
            **echo,
            "Ballot": self._store.ballot,
            "Slot": str(slot or self._store.applied_index),
        }
