"""The GoPaxos routes: `/store/set`, `/store/get/<key>`, `/store/nop`, `/crash`, `/log/print`.

- `POST /store/set` (or `/store/set/`, the path GoPaxos' own client used) with
  `{"key": str, "value": str, "encoding"?: "utf-8" | "base64"}` -> `{"key", "previous"}`. Field
  names match without regard to case, as GoPaxos' Go server matched them: its own benchmark
  sends `{"Key": ..., "Value": ...}` (`service.go_json`).
- `GET|POST /store/set/<key>/<value>`, the form GoPaxos' README shows (`curl -i
  .../store/set/<key>/<value>`, a GET) -> `{"key", "previous"}`. The value is the last path
  segment, percent-decoded to bytes; the key is everything before it (slashes allowed).
- `GET /store/get/<key>` -> `{"key", "value"}` like `GET /v1/kv/<key>` (GoPaxos left it a stub).
- `GET /store/nop` proposes a no-op through consensus, which makes a lagging node learn the
  slots before it -> `{"ok": true, "applied_index"}`.
- `GET /crash` ends the process at once with status `EXIT_CRASH` (75) after answering, only
  when the app was built with `fault_injection=True`; otherwise 404 `fault_injection_disabled`.
  Like a power cut, nothing unsynced is flushed: a supervisor restarts the node and it recovers
  from its log. Paxi's `GET /crash?t=SECONDS` instead crashes the node in place for that long
  (it stops talking to its peers and refuses clients, then comes back by itself; see
  `pyxos.runtime.faults`) -> `{"ok": true, "node", "fault"}`.
- `GET /log/print/<file>?from=A&to=B` answers the committed log as text (`log_print`), slots
  `A` (default 1) to `B` (default: this node's applied index). GoPaxos wrote it to `<file>`;
  we only check that the name is one safe path segment, and answer the text. With a protocol
  that keeps a log per object (WPaxos), the positions are this node's own apply order, which
  differs between nodes; `?object=KEY` answers that object's log instead, in its own slots
  (the same on every node; the locks, queues, map and ask share the object `@`), and
  `GET /log/objects` lists the objects this node has applied, with their highest slot.
"""

from __future__ import annotations

import asyncio
import logging
import os
from urllib.parse import unquote_to_bytes

import msgspec
from aiohttp import web

from pyxos.service.admin_routes import add_fault, query_number, require_fault_injection
from pyxos.service.errors import ApiError, Routes, json_response
from pyxos.service.go_json import read_go_json
from pyxos.service.inputs import (
    Encoding,
    check_key,
    check_value,
    decode_value,
    linearizable,
    path_key,
    query_int,
    value_fields,
)
from pyxos.service.kv_ops import KvStore
from pyxos.service.log_print import render_lines

log = logging.getLogger(__name__)

EXIT_CRASH = 75
"""The exit status after `/crash` (EX_TEMPFAIL: a supervisor should start the node again)."""
FILE_NAME_BYTES_MAX = 255
LOG_PRINT_CHUNK_BYTES = 64 * 1024
SLOT_MAX = (1 << 63) - 1
SET_PREFIX = "/store/set/"
_DRAIN_POLLS = 100
_DRAIN_POLL_S = 0.01


class SetBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: str
    value: str
    encoding: Encoding = "utf-8"


def pair_in_path(raw: str) -> tuple[str, bytes]:
    """The key and value of `<key>/<value>`, still percent-encoded as `raw` (the path after
    `/store/set/`): the value is the last segment, as bytes, and the key the rest, UTF-8.
    Raises `ApiError` (`bad_request`, `too_large`)."""
    raw_key, slash, raw_value = raw.rpartition("/")
    if not slash:
        raise ApiError(
            "bad_request",
            "use /store/set/<key>/<value> (or POST /store/set with a JSON body), "
            f"not /store/set/{raw}",
        )
    try:
        key = unquote_to_bytes(raw_key).decode()
    except UnicodeDecodeError:
        raise ApiError("bad_request", "the key is not valid UTF-8") from None
    return check_key(key), check_value(unquote_to_bytes(raw_value))


def check_file_name(name: str) -> str:
    """`name` if it is one safe path segment (no slash, backslash, control character, `.` or
    `..`, at most 255 bytes); else `ApiError("bad_file_name")`."""
    try:
        size = len(name.encode())
    except UnicodeEncodeError:
        size = -1
    if (
        name in (".", "..")
        or "/" in name
        or "\\" in name
        or not name.isprintable()
        or not 0 < size <= FILE_NAME_BYTES_MAX
    ):
        raise ApiError("bad_file_name", f"{name!r} is not one safe path segment")
    return name


class GoPaxosRoutes:
    """The GoPaxos handlers, bound to one node's store."""

    def __init__(self, store: KvStore, *, fault_injection: bool) -> None:
        self._store = store
        self._fault_injection = fault_injection

    def routes(self) -> Routes:
        return {
            "/store/set": {"POST": self.set},
            "/store/set/": {"POST": self.set},
            "/store/set/{pair:.+}": {"GET": self.set_in_path, "POST": self.set_in_path},
            "/store/get/{key:.+}": {"GET": self.get},
            "/store/nop": {"GET": self.nop},
            "/crash": {"GET": self.crash},
            "/log/print/{file:.+}": {"GET": self.log_print},
            "/log/objects": {"GET": self.log_objects},
        }

    async def set(self, request: web.Request) -> web.Response:
        body = await read_go_json(request, SetBody)
        key = check_key(body.key, code_if_bad="invalid_body")
        value = decode_value(body.value, body.encoding, "value")
        return await self._put(key, value)

    async def set_in_path(self, request: web.Request) -> web.Response:
        key, value = pair_in_path(request.rel_url.raw_path.removeprefix(SET_PREFIX))
        return await self._put(key, value)

    async def _put(self, key: str, value: bytes) -> web.Response:
        previous = await self._store.put(key, value)
        return json_response(
            {"key": key, **value_fields("previous", "previous_encoding", previous)}
        )

    async def get(self, request: web.Request) -> web.Response:
        key = path_key(request)
        value = await self._store.get(key, linearizable=linearizable(request))
        if value is None:
            raise ApiError("key_not_found", f"no key {key!r}")
        return json_response({"key": key, **value_fields("value", "encoding", value)})

    async def nop(self, request: web.Request) -> web.Response:
        await self._store.noop()
        return json_response({"ok": True, "applied_index": self._store.applied_index})

    async def crash(self, request: web.Request) -> web.StreamResponse:
        require_fault_injection(self._fault_injection, "/crash")
        node = self._store.runner.node_id
        if "t" in request.query:
            view = add_fault(self._store.runner, "crash", duration_s=query_number(request, "t"))
            return json_response({"ok": True, "node": node, "fault": view})
        log.critical("node=%d /crash: the process exits now with status %d", node, EXIT_CRASH)
        response = json_response({"ok": True, "node": node, "exit_status": EXIT_CRASH})
        await response.prepare(request)
        await response.write_eof()
        # The answer is in the transport; give it a moment to reach the socket, then go, with
        # no cleanup at all: that is the crash being injected.
        transport = request.transport
        for _ in range(_DRAIN_POLLS):
            if transport is None or transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(_DRAIN_POLL_S)
        logging.shutdown()
        os._exit(EXIT_CRASH)

    async def log_print(self, request: web.Request) -> web.StreamResponse:
        check_file_name(request.match_info["file"])
        runner = self._store.runner
        obj = request.query.get("object")
        if obj is None:
            # A copy taken at once: the stepper appends to the live deque between our writes.
            entries = list(runner.applied_log)
            applied = self._store.applied_index
        elif not runner.support.per_object:
            raise ApiError(
                "bad_request",
                f"protocol {runner.node.protocol.name} keeps one log: leave out object",
            )
        else:
            entries = list(runner.object_logs.get(_object_key(obj), ()))
            applied = entries[-1][0] if entries else 0
        first = query_int(request, "from", default=1, low=1, high=SLOT_MAX)
        last = query_int(request, "to", default=applied, low=0, high=SLOT_MAX)
        response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
        await response.prepare(request)
        chunk: list[str] = []
        size = 0
        for line in render_lines(entries, first, last):
            chunk.append(line)
            size += len(line)
            if size >= LOG_PRINT_CHUNK_BYTES:
                await response.write("".join(chunk).encode())
                chunk, size = [], 0
        if chunk:
            await response.write("".join(chunk).encode())
        await response.write_eof()
        return response

    async def log_objects(self, request: web.Request) -> web.Response:
        runner = self._store.runner
        objects = [
            {"object": obj.decode(errors="replace"), "last_slot": kept[-1][0]}
            for obj, kept in sorted(runner.object_logs.items())
            if kept
        ]
        return json_response(
            {
                "protocol": runner.node.protocol.name,
                "per_object": runner.support.per_object,
                "objects": objects,
            }
        )


def _object_key(text: str) -> bytes:
    """An object named in a query (a key, UTF-8), as the node keys its logs."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise ApiError("bad_request", "the object is not valid UTF-8") from None
