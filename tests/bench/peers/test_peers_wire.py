"""The PySyncObj members' front-end codec: frames round-trip, and bytes that are not a frame
are refused at the codec."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyxos.bench.peers import pysyncobj_member as wire
from pyxos.bench.peers.pysyncobj_member import Answer, FrameError, Request


def body(frame: bytes) -> bytes:
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    return frame[4:]


@pytest.mark.parametrize(
    "request_",
    [
        Request(op=wire.OP_PUT, request_id=7, key=b"k12", value=b"x" * 100),
        Request(op=wire.OP_GET, request_id=wire.REQUEST_ID_MAX, key=b"k1"),
        Request(op=wire.OP_STATUS, request_id=0),
        Request(op=wire.OP_PUT, request_id=1, key=b"", value=b""),
    ],
)
def test_requests_round_trip(request_: Request) -> None:
    assert wire.decode_request(body(wire.encode_request(request_))) == request_


@pytest.mark.parametrize(
    "answer",
    [
        Answer(status=wire.OK, request_id=3, payload=b"value"),
        Answer(status=wire.NOT_FOUND, request_id=4),
        Answer(status=wire.FAILED, request_id=5, payload=b"failed: 2"),
    ],
)
def test_answers_round_trip(answer: Answer) -> None:
    assert wire.decode_answer(body(wire.encode_answer(answer))) == answer


def test_the_request_layout_is_op_id_key_length_key_value() -> None:
    frame = wire.encode_request(Request(op=wire.OP_PUT, request_id=258, key=b"ab", value=b"v"))
    assert frame == b"\x00\x00\x00\x0a" + b"\x01" + b"\x00\x00\x01\x02" + b"\x00\x02ab" + b"v"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x00\x00", "too short"),
        (b"\x09\x00\x00\x00\x01\x00\x00", "unknown op 9"),
        (b"\x01\x00\x00\x00\x01\x00\x05ab", "key runs past the end"),
    ],
)
def test_bad_requests_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        wire.decode_request(data)


@pytest.mark.parametrize(
    ("data", "message"), [(b"\x00\x00", "too short"), (b"\x07\x00\x00\x00\x01", "unknown status")]
)
def test_bad_answers_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        wire.decode_answer(data)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Request(op=0, request_id=1), "unknown op"),
        (lambda: Request(op=wire.OP_GET, request_id=-1), "out of range"),
        (lambda: Request(op=wire.OP_GET, request_id=1 << 32), "out of range"),
        (lambda: Request(op=wire.OP_GET, request_id=1, key=b"k" * 65536), "out of range"),
        (
            lambda: Request(op=wire.OP_PUT, request_id=1, value=b"v" * wire.FRAME_BYTES_MAX),
            "over",
        ),
    ],
)
def test_encoding_a_bad_request_raises_a_local_error(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wire.encode_request(make())


def test_frames_are_read_from_a_stream_one_at_a_time() -> None:
    async def scenario() -> None:
        reader = asyncio.StreamReader()
        first = wire.encode_answer(Answer(status=wire.OK, request_id=1, payload=b"a"))
        second = wire.encode_answer(Answer(status=wire.NOT_FOUND, request_id=2))
        data = first + second
        reader.feed_data(data[:3])  # a frame split anywhere arrives whole
        reader.feed_data(data[3:])
        reader.feed_eof()
        assert wire.decode_answer(await wire.read_frame(reader)).payload == b"a"
        assert wire.decode_answer(await wire.read_frame(reader)).request_id == 2
        with pytest.raises(asyncio.IncompleteReadError):
            await wire.read_frame(reader)

    asyncio.run(scenario())


def test_a_frame_over_the_limit_is_refused_before_it_is_read() -> None:
    async def scenario() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data((wire.FRAME_BYTES_MAX + 1).to_bytes(4, "big"))
        with pytest.raises(FrameError, match="over"):
            await wire.read_frame(reader)

    asyncio.run(scenario())


def test_durability_follows_every_append_with_a_flush() -> None:
    calls: list[str] = []

    class FileJournal:
        def add(self, command: bytes, idx: int, term: int) -> None:
            calls.append(f"add {idx}")

        def flush(self) -> None:
            calls.append("flush")

    class JournalModule:
        pass

    module: Any = JournalModule()
    module.FileJournal = FileJournal
    wire.make_durable(module)
    journal = FileJournal()
    journal.add(b"cmd", 1, 1)
    journal.add(b"cmd", 2, 1)
    assert calls == ["add 1", "flush", "add 2", "flush"]
