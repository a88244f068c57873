"""Length-prefixed frames: round trips in any split, and a bounded decoder."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyxos.wire.errors import LocalProtocolError, RemoteProtocolError
from pyxos.wire.frames import FrameDecoder, encode_frame

PAYLOADS = [b"", b"a", b"hello world", bytes(range(256)) * 40]


def test_frames_round_trip_in_one_feed() -> None:
    data = b"".join(encode_frame(p) for p in PAYLOADS)
    decoder = FrameDecoder()
    assert decoder.feed(data) == PAYLOADS
    assert decoder.buffered_bytes == 0


def test_frame_header_is_four_bytes_big_endian() -> None:
    assert encode_frame(b"xyz") == b"\x00\x00\x00\x03xyz"


def test_frames_fed_byte_by_byte() -> None:
    data = b"".join(encode_frame(p) for p in PAYLOADS)
    decoder = FrameDecoder()
    out: list[bytes] = []
    for i in range(len(data)):
        out.extend(decoder.feed(data[i : i + 1]))
    assert out == PAYLOADS
    assert decoder.buffered_bytes == 0


@given(
    payloads=st.lists(st.binary(max_size=300), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=10),
)
def test_frames_survive_any_split(payloads: list[bytes], cuts: list[int]) -> None:
    data = b"".join(encode_frame(p) for p in payloads)
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    decoder = FrameDecoder()
    out: list[bytes] = []
    for start, end in itertools.pairwise(points):
        out.extend(decoder.feed(data[start:end]))
    assert out == payloads


def test_a_partial_frame_waits_for_the_rest() -> None:
    decoder = FrameDecoder()
    frame = encode_frame(b"abcdef")
    assert decoder.feed(frame[:5]) == []
    assert decoder.buffered_bytes > 0
    assert decoder.feed(frame[5:] + frame[:2]) == [b"abcdef"]
    assert decoder.feed(frame[2:]) == [b"abcdef"]


def test_oversized_length_is_rejected_before_the_payload_arrives() -> None:
    decoder = FrameDecoder(frame_bytes_max=100)
    assert decoder.feed(encode_frame(b"x" * 100)) == [b"x" * 100]
    with pytest.raises(RemoteProtocolError, match="exceeds the maximum 100"):
        decoder.feed((101).to_bytes(4, "big"))


def test_garbage_length_is_rejected() -> None:
    with pytest.raises(RemoteProtocolError):
        FrameDecoder().feed(b"\xff\xff\xff\xffgarbage")


def test_encoding_an_oversized_frame_is_our_error() -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame(b"x" * 11, frame_bytes_max=10)


def test_decoder_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FrameDecoder(frame_bytes_max=0)
