"""Frames and the scanner, on bytes in memory: every truncation, every kind of bit flip."""

from __future__ import annotations

from itertools import accumulate
from random import Random

import pytest
from crc32c import crc32c

from conftest import MakeRecords
from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.records import Promised, Record
from pyxos.wire.log_frames import (
    HEADER,
    Clean,
    Corrupt,
    FrameScanner,
    TornTail,
    decode_record,
    encode_frame,
    encode_frames,
    encode_record,
    scan_bytes,
)


def _log(records: list[Record]) -> tuple[bytes, list[int]]:
    """The framed log and the offset where each frame starts, plus the end."""
    frames = [encode_frame(r) for r in records]
    return b"".join(frames), [0, *accumulate(len(f) for f in frames)]


def test_records_round_trip(make_records: MakeRecords) -> None:
    for record in make_records(Random(1), 200):
        assert decode_record(encode_record(record)) == record


def test_encode_refuses_what_is_not_a_record() -> None:
    with pytest.raises(TypeError):
        encode_record(Ballot(1, 1))  # type: ignore[arg-type]


def test_clean_scan_returns_every_record_with_offsets(make_records: MakeRecords) -> None:
    records = make_records(Random(2), 100)
    data, starts = _log(records)
    frames, end = scan_bytes(data)
    assert [f.record for f in frames] == records
    assert [f.offset for f in frames] == starts[:-1]
    assert end == Clean(end=len(data))


def test_incremental_feed_in_any_chunks(make_records: MakeRecords) -> None:
    rng = Random(3)
    records = make_records(rng, 100)
    data, _ = _log(records)
    for _ in range(20):
        scanner = FrameScanner()
        got = []
        pos = 0
        while pos < len(data):
            step = rng.randrange(1, 64)
            scanner.feed(data[pos : pos + step])
            got.extend(f.record for f in scanner.frames())
            pos += step
        assert got == records
        assert scanner.finish() == Clean(end=len(data))


def test_truncation_at_every_offset_in_the_last_three_records(make_records: MakeRecords) -> None:
    records = make_records(Random(4), 40)
    data, starts = _log(records)
    first_cut = starts[-4]
    for cut in range(first_cut, len(data) + 1):
        frames, end = scan_bytes(data[:cut])
        kept = max(i for i, start in enumerate(starts) if start <= cut)
        assert [f.record for f in frames] == records[:kept], cut
        if cut == starts[kept]:
            assert end == Clean(end=cut)
        else:
            assert isinstance(end, TornTail), (cut, end)
            assert (end.offset, end.end) == (starts[kept], cut)


def test_ten_thousand_bit_flips_are_all_detected(make_records: MakeRecords) -> None:
    rng = Random(5)
    records = make_records(rng, 300)
    data, starts = _log(records)
    last = len(records) - 1
    torn = corrupt = 0
    for _ in range(10_000):
        bit = rng.randrange(len(data) * 8)
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        frame = max(i for i, start in enumerate(starts[:-1]) if start <= bit // 8)
        frames, end = scan_bytes(bytes(flipped))
        # Never a silently wrong record: exactly the frames before the damaged one survive.
        assert [f.record for f in frames] == records[:frame], bit
        match end:
            case Corrupt(offset=offset):
                assert offset == starts[frame], bit
                corrupt += 1
            case TornTail(offset=offset):
                assert frame == last and offset == starts[last], bit
                torn += 1
            case Clean():
                pytest.fail(f"bit flip {bit} not detected")
    assert torn > 0 and corrupt > 0


def test_a_longer_length_in_a_middle_frame_is_corruption() -> None:
    records: list[Record] = [Promised(ballot=Ballot(i, 1)) for i in range(5)]
    data = bytearray(encode_frames(records))
    length, crc = HEADER.unpack_from(data, 0)
    HEADER.pack_into(data, 0, length + 10_000, crc)  # now runs past the end of the log
    frames, end = scan_bytes(bytes(data))
    assert frames == []
    assert isinstance(end, Corrupt) and end.offset == 0
    assert "runs past the end" in end.reason and "valid frame follows" in end.reason


def test_a_longer_length_in_the_last_frame_is_a_torn_tail() -> None:
    records: list[Record] = [Promised(ballot=Ballot(i, 1)) for i in range(5)]
    data = bytearray(encode_frames(records))
    last = len(data) - len(encode_frame(records[-1]))
    length, crc = HEADER.unpack_from(data, last)
    HEADER.pack_into(data, last, length + 10_000, crc)
    frames, end = scan_bytes(bytes(data))
    assert [f.record for f in frames] == records[:-1]
    assert isinstance(end, TornTail) and end.offset == last


def test_zero_filled_tail_is_torn_not_empty_frames() -> None:
    data = encode_frames([Promised(ballot=Ballot(1, 1))])
    frames, end = scan_bytes(data + bytes(4096))
    assert len(frames) == 1
    assert isinstance(end, TornTail) and end.offset == len(data)
    assert "invalid frame length 0" in end.reason


def test_a_checksummed_frame_that_does_not_decode_is_corruption_even_at_the_end() -> None:
    payload = b"\xc1"  # a byte msgpack never uses
    data = encode_frames([Promised(ballot=Ballot(1, 1))]) + HEADER.pack(1, crc32c(payload))
    frames, end = scan_bytes(data + payload)
    assert len(frames) == 1
    assert isinstance(end, Corrupt) and "does not decode" in end.reason


def test_finish_refuses_frames_left_untaken() -> None:
    scanner = FrameScanner()
    scanner.feed(encode_frames([Promised(ballot=Ballot(1, 1))]))
    with pytest.raises(ValueError):
        scanner.finish()
