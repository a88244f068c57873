"""One PySyncObj member with a small TCP front end: run by the PySyncObj adapter as

    .venv-peers/bin/python -P pysyncobj_member.py --self 127.0.0.1:A --partners B,C \
        --front 127.0.0.1:F --journal DIR/journal [--no-sync]

It imports nothing but the standard library and `pysyncobj` (installed in its own venv from
requirements/peers.lock), so the codec of its front end lives here too and the driver imports
it from this module.

Theory of operation. The member holds a `SyncObj` whose state is a dict of key -> bytes, with
two replicated methods: `put(key, value)` and `read(key)`. PySyncObj has no read index or
lease, so a linearizable read goes through the log as a replicated `read` that changes nothing
and returns the value when it is applied. The journal is a file (`journalFile`), which
PySyncObj memory-maps and never syncs; to make it durable, every `FileJournal.add` (the leader
appending a client's command, a follower appending an entry it was sent) is followed by the
journal's `flush()`, an `msync` of the mapping, before PySyncObj goes on to answer or
acknowledge. `--no-sync` leaves PySyncObj's journal as it ships (not durable).

SyncObj runs its Raft loop in its own thread; the front end is an asyncio server in the main
thread. A request calls the replicated method with a callback, which PySyncObj runs in its
thread once the command is applied (or fails); the callback hands the result back to the event
loop with `call_soon_threadsafe`.

The front end's frames: a 4-byte big-endian length, then the body. A request body is
`op (1 byte) | request id (4) | key length (2) | key | value`; an answer body is
`status (1 byte) | request id (4) | payload` (the value, a status JSON, or an error message).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

OP_PUT = 1
OP_GET = 2
OP_STATUS = 3
OPS = (OP_PUT, OP_GET, OP_STATUS)

OK = 0
NOT_FOUND = 1
FAILED = 2
STATUSES = (OK, NOT_FOUND, FAILED)

_LENGTH = struct.Struct(">I")
_REQUEST = struct.Struct(">BIH")
_ANSWER = struct.Struct(">BI")
FRAME_BYTES_MAX = 1 << 20
REQUEST_ID_MAX = (1 << 32) - 1
KEY_BYTES_MAX = (1 << 16) - 1


class FrameError(ValueError):
    """Bytes that are not a frame of this protocol."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    op: int
    request_id: int
    key: bytes = b""
    value: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    status: int
    request_id: int
    payload: bytes = b""


def encode_request(request: Request) -> bytes:
    """The frame of `request`. Raises `ValueError` for an unknown op or out-of-range field."""
    if request.op not in OPS:
        raise ValueError(f"unknown op {request.op}")
    if not 0 <= request.request_id <= REQUEST_ID_MAX or len(request.key) > KEY_BYTES_MAX:
        raise ValueError("request id or key length out of range")
    body = _REQUEST.pack(request.op, request.request_id, len(request.key))
    return _frame(body + request.key + request.value)


def decode_request(body: bytes) -> Request:
    """The request in a frame's `body`. Raises `FrameError` if it is not one."""
    if len(body) < _REQUEST.size:
        raise FrameError(f"request of {len(body)} bytes is too short")
    op, request_id, key_bytes = _REQUEST.unpack_from(body)
    if op not in OPS:
        raise FrameError(f"unknown op {op}")
    key_end = _REQUEST.size + key_bytes
    if key_end > len(body):
        raise FrameError("key runs past the end of the request")
    return Request(
        op=op, request_id=request_id, key=body[_REQUEST.size : key_end], value=body[key_end:]
    )


def encode_answer(answer: Answer) -> bytes:
    if answer.status not in STATUSES:
        raise ValueError(f"unknown status {answer.status}")
    return _frame(_ANSWER.pack(answer.status, answer.request_id) + answer.payload)


def decode_answer(body: bytes) -> Answer:
    """The answer in a frame's `body`. Raises `FrameError` if it is not one."""
    if len(body) < _ANSWER.size:
        raise FrameError(f"answer of {len(body)} bytes is too short")
    status, request_id = _ANSWER.unpack_from(body)
    if status not in STATUSES:
        raise FrameError(f"unknown status {status}")
    return Answer(status=status, request_id=request_id, payload=body[_ANSWER.size :])


def _frame(body: bytes) -> bytes:
    if len(body) > FRAME_BYTES_MAX:
        raise ValueError(f"frame of {len(body)} bytes is over {FRAME_BYTES_MAX}")
    return _LENGTH.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """The next frame's body. Raises `FrameError` for a length over the limit and
    `asyncio.IncompleteReadError` at the end of the stream."""
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    if length > FRAME_BYTES_MAX:
        raise FrameError(f"frame of {length} bytes is over {FRAME_BYTES_MAX}")
    return await reader.readexactly(length)


# ---- the member ---------------------------------------------------------------------------
def make_durable(journal_module: Any) -> None:
    """Follow every append to a file journal with an msync of its mapping."""
    file_journal = journal_module.FileJournal
    append = file_journal.add

    def add_and_sync(self: Any, command: Any, idx: int, term: int) -> None:
        append(self, command, idx, term)
        self.flush()

    file_journal.add = add_and_sync


def replicated_kv(pysyncobj: Any) -> Any:
    """A `SyncObj` subclass holding a dict, with replicated `put` and `read`."""

    # Typed, so that the methods below stay typed; called directly, as PySyncObj expects (it
    # looks two frames up for the class body to add the versioned name to).
    replicated: Callable[[Callable[..., Any]], Callable[..., Any]] = pysyncobj.replicated

    class ReplicatedKv(pysyncobj.SyncObj):  # type: ignore[misc]
        def __init__(self, self_address: str, partners: list[str], conf: Any) -> None:
            self._data: dict[bytes, bytes] = {}
            super().__init__(self_address, partners, conf)

        @replicated
        def put(self, key: bytes, value: bytes) -> None:
            self._data[key] = value

        @replicated
        def read(self, key: bytes) -> bytes | None:
            return self._data.get(key)

    return ReplicatedKv


class FrontEnd:
    """The asyncio TCP server in front of one member."""

    def __init__(self, kv: Any, fail_reasons: Any) -> None:
        self._kv = kv
        self._success = fail_reasons.SUCCESS

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = decode_request(await read_frame(reader))
                writer.write(encode_answer(await self._answer(request)))
        except (asyncio.IncompleteReadError, ConnectionError, FrameError):
            pass
        finally:
            writer.close()

    async def _answer(self, request: Request) -> Answer:
        rid = request.request_id
        if request.op == OP_STATUS:
            return Answer(status=OK, request_id=rid, payload=self._status())
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[Any, Any]] = loop.create_future()

        def applied(result: Any, error: Any) -> None:  # in PySyncObj's thread
            loop.call_soon_threadsafe(_settle, done, (result, error))

        if request.op == OP_PUT:
            self._kv.put(request.key, request.value, callback=applied)
        else:
            self._kv.read(request.key, callback=applied)
        result, error = await done
        if error != self._success:
            return Answer(status=FAILED, request_id=rid, payload=f"failed: {error}".encode())
        if request.op == OP_GET and result is None:
            return Answer(status=NOT_FOUND, request_id=rid)
        return Answer(status=OK, request_id=rid, payload=result or b"")

    def _status(self) -> bytes:
        status = self._kv.getStatus()
        leader = status.get("leader")
        return json.dumps(
            {
                "self": str(status.get("self")),
                "leader": None if leader is None else str(leader),
                "ready": bool(self._kv.isReady()),
                "has_quorum": bool(status.get("has_quorum")),
            }
        ).encode()


def _settle(done: asyncio.Future[tuple[Any, Any]], outcome: tuple[Any, Any]) -> None:
    if not done.done():
        done.set_result(outcome)


async def _serve(args: argparse.Namespace) -> None:
    pysyncobj = importlib.import_module("pysyncobj")
    if not args.no_sync:
        make_durable(importlib.import_module("pysyncobj.journal"))
    conf = pysyncobj.SyncObjConf(journalFile=args.journal, appendEntriesUseBatch=not args.no_batch)
    kv = replicated_kv(pysyncobj)(args.self_address, args.partners.split(","), conf)
    host, port = args.front.rsplit(":", 1)
    front = FrontEnd(kv, pysyncobj.FAIL_REASON)
    server = await asyncio.start_server(front.serve, host, int(port))
    async with server:
        await server.serve_forever()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A PySyncObj member with a TCP front end.")
    parser.add_argument("--self", dest="self_address", required=True, help="host:port for Raft")
    parser.add_argument("--partners", required=True, help="the other members' host:port, a,b")
    parser.add_argument("--front", required=True, help="host:port of the client front end")
    parser.add_argument("--journal", required=True, help="the journal file")
    parser.add_argument("--no-sync", action="store_true", help="do not msync after appends")
    parser.add_argument(
        "--no-batch",
        action="store_true",
        help="send each command to the followers at once (appendEntriesUseBatch=False)",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
