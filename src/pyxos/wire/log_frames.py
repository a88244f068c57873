"""Records <-> bytes, and the frames that carry them in the log.

A frame is `length (u32 LE) | crc32c(payload) (u32 LE) | payload`, where the payload is the
msgpack encoding of one durable record of the node's protocol (`RecordCodec`: each protocol
declares its record types; Multi-Paxos's are the default). A zero length is never valid (no
record encodes to nothing; an all-zero region, which a crash can leave behind, must not parse as
a frame).

`FrameScanner` reads frames incrementally (`feed(bytes)`, `frames()`, then `finish()` at end of
file) and reports where the valid prefix ends and why:

- `Clean`: every byte belongs to a valid frame.
- `TornTail`: the first bad frame is the last thing in the file (it is incomplete, or its
  checksum fails and no valid frame starts anywhere after it). A crash in the middle of a write
  leaves exactly this; the bytes from `offset` on may be truncated.
- `Corrupt`: a bad frame is followed by a valid frame, or a frame with a good checksum does not
  decode. Truncating would drop data that was once durable, so this is an error.

"Followed by a valid frame" is tested at every byte offset after the bad frame, not only where
the bad frame claims to end: a bit flip in a length field moves the claimed end (possibly past the
end of the file), and the records after it must still stop a truncation.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from crc32c import crc32c

from pyxos.core.io import DurableRecord
from pyxos.core.protocol import ProtocolSpec
from pyxos.core.protocols import DEFAULT_PROTOCOL, protocol_spec

HEADER = struct.Struct("<II")
HEADER_BYTES = HEADER.size
PAYLOAD_BYTES_MAX = 64 * 1024 * 1024
"""The largest record payload a frame may carry; a larger length field is damage."""


class RecordCodec:
    """One protocol's durable records <-> bytes (payloads, and framed)."""

    __slots__ = ("_encoder", "decoder", "record_classes", "spec")

    def __init__(self, spec: ProtocolSpec) -> None:
        self.spec = spec
        self.record_classes = spec.record_classes
        self._encoder = msgspec.msgpack.Encoder()
        # Public so that a scanner can call the C decoder directly, one call per frame.
        self.decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(spec.record_type)

    def encode(self, record: DurableRecord) -> bytes:
        """The msgpack payload of `record`. Raises `TypeError` for anything that is not one of
        the protocol's records."""
        if not isinstance(record, self.record_classes):
            raise TypeError(f"not a {self.spec.name} log record: {record!r}")
        return self._encoder.encode(record)

    def decode(self, payload: bytes | memoryview) -> DurableRecord:
        """Decode one payload. Raises `msgspec.DecodeError` (a `ValueError`) on bad bytes."""
        record: DurableRecord = self.decoder.decode(payload)
        return record

    def frame(self, record: DurableRecord) -> bytes:
        """One framed record. Raises `ValueError` if its payload exceeds `PAYLOAD_BYTES_MAX`."""
        payload = self.encode(record)
        if len(payload) > PAYLOAD_BYTES_MAX:
            raise ValueError(f"record of {len(payload)} bytes exceeds {PAYLOAD_BYTES_MAX}")
        return HEADER.pack(len(payload), crc32c(payload)) + payload


DEFAULT_CODEC = RecordCodec(protocol_spec(DEFAULT_PROTOCOL))
"""The codec of the default protocol (Multi-Paxos), for logs that do not say otherwise."""


def encode_record(record: DurableRecord, codec: RecordCodec = DEFAULT_CODEC) -> bytes:
    """The msgpack payload of `record` (see `RecordCodec.encode`)."""
    return codec.encode(record)


def decode_record(payload: bytes | memoryview, codec: RecordCodec = DEFAULT_CODEC) -> DurableRecord:
    """Decode one payload. Raises `msgspec.DecodeError` (a `ValueError`) on bad bytes."""
    return codec.decode(payload)


def encode_frame(record: DurableRecord, codec: RecordCodec = DEFAULT_CODEC) -> bytes:
    """One framed record. Raises `ValueError` if its payload exceeds `PAYLOAD_BYTES_MAX`."""
    return codec.frame(record)


def encode_frames(records: Iterable[DurableRecord], codec: RecordCodec = DEFAULT_CODEC) -> bytes:
    return b"".join(codec.frame(r) for r in records)


class Frame(msgspec.Struct, frozen=True, kw_only=True):
    """A valid frame: `offset` of its header in the file and `size` in bytes, header included."""

    offset: int
    size: int
    record: DurableRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class Clean:
    end: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TornTail:
    """The bytes `[offset, end)` are a torn last frame: truncate the file to `offset`."""

    offset: int
    end: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Corrupt:
    offset: int
    reason: str


ScanEnd = Clean | TornTail | Corrupt


class FrameScanner:
    """Incremental frame reader over one file (or one in-memory log).

    Call `feed` with consecutive chunks, `frames` to take the valid frames parsed so far, and
    `finish` once at end of file. After the first bad frame no more frames are returned; the
    rest of the input is kept to decide, at `finish`, whether the bad frame was a torn tail.
    """

    __slots__ = ("_bad", "_buf", "_codec", "_fatal", "_pos", "_start")

    def __init__(self, *, offset: int = 0, codec: RecordCodec = DEFAULT_CODEC) -> None:
        self._codec = codec
        self._buf = b""
        self._start = offset  # file offset of self._buf[0]
        self._pos = 0  # next unread byte in self._buf
        self._bad: tuple[int, str] | None = None  # (buffer position, reason) of the bad frame
        self._fatal = False  # a checksummed frame that does not decode: never a torn tail

    @property
    def offset(self) -> int:
        """File offset just past the last valid frame returned (the valid prefix so far)."""
        return self._start + (self._bad[0] if self._bad is not None else self._pos)

    def feed(self, data: bytes) -> None:
        if self._bad is None and self._pos:
            # Only the unparsed remainder is kept; consumed frames were already returned.
            self._buf = self._buf[self._pos :]
            self._start += self._pos
            self._pos = 0
        self._buf += data

    def frames(self) -> list[Frame]:
        """The valid frames completed by the data fed so far, in order."""
        out: list[Frame] = []
        if self._bad is not None:
            return out
        buf, pos, end, start = self._buf, self._pos, len(self._buf), self._start
        unpack, mv, decode = HEADER.unpack_from, memoryview(buf), self._codec.decoder.decode
        while end - pos >= HEADER_BYTES:
            length, crc = unpack(buf, pos)
            if length == 0 or length > PAYLOAD_BYTES_MAX:
                self._bad = (pos, f"invalid frame length {length}")
                break
            stop = pos + HEADER_BYTES + length
            if stop > end:
                break  # incomplete: more data may come; `finish` decides
            payload = mv[pos + HEADER_BYTES : stop]
            if crc32c(payload) != crc:
                self._bad = (pos, "checksum mismatch")
                break
            try:
                record = decode(payload)
            except ValueError as exc:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
                self._bad = (pos, f"checksum ok but the record does not decode: {exc}")
                self._fatal = True
                break
            out.append(Frame(offset=start + pos, size=stop - pos, record=record))
            pos = stop
        self._pos = pos
        return out

    def finish(self) -> ScanEnd:
        """Classify the end of the input. Call after the last `feed` and `frames`.

        Raises `ValueError` if `frames` left valid frames untaken (they would be lost).
        """
        if self.frames():
            raise ValueError("FrameScanner.finish: call frames() after the last feed()")
        end = self._start + len(self._buf)
        if self._bad is None:
            if self._pos == len(self._buf):
                return Clean(end=end)
            remaining = len(self._buf) - self._pos
            if remaining < HEADER_BYTES:
                reason = f"incomplete frame header ({remaining} of {HEADER_BYTES} bytes)"
            else:
                length, _ = HEADER.unpack_from(self._buf, self._pos)
                reason = f"frame of {length} bytes runs past the end ({remaining} bytes left)"
            self._bad = (self._pos, reason)
        pos, reason = self._bad
        if self._fatal:
            return Corrupt(offset=self._start + pos, reason=reason)
        later = find_valid_frame(self._buf, pos + 1)
        if later is not None:
            return Corrupt(
                offset=self._start + pos,
                reason=f"{reason}; a valid frame follows at offset {self._start + later}",
            )
        return TornTail(offset=self._start + pos, end=end, reason=reason)


def find_valid_frame(buf: bytes, start: int) -> int | None:
    """The first position >= `start` where a complete frame with a good checksum begins."""
    end = len(buf)
    unpack = HEADER.unpack_from
    for pos in range(start, end - HEADER_BYTES):
        length, crc = unpack(buf, pos)
        # Most offsets are rejected by the length test alone, so this loop stays cheap.
        if 0 < length <= end - pos - HEADER_BYTES and length <= PAYLOAD_BYTES_MAX:
            body = pos + HEADER_BYTES
            if crc32c(memoryview(buf)[body : body + length]) == crc:
                return pos
    return None


def scan_bytes(
    data: bytes, *, offset: int = 0, codec: RecordCodec = DEFAULT_CODEC
) -> tuple[list[Frame], ScanEnd]:
    """Scan a whole log held in memory: its valid frames and how it ends."""
    scanner = FrameScanner(offset=offset, codec=codec)
    scanner.feed(data)
    frames = scanner.frames()
    return frames, scanner.finish()
