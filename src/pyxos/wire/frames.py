"""Length-prefixed frames: a 4-byte big-endian payload length, then the payload.

`FrameDecoder` is incremental: feed it whatever a socket read returned, in any split, and it
returns the complete payloads in order, keeping a partial frame for the next feed. A declared
length above the decoder's maximum raises `RemoteProtocolError` before any of the payload is
buffered, so a peer cannot make us allocate without bound; after that error the stream has no
frame boundary left to resynchronise on and the caller must close the connection.
"""

from __future__ import annotations

from pyxos.wire.errors import LocalProtocolError, RemoteProtocolError

HEADER_BYTES = 4
FRAME_BYTES_MAX = 64 * 1024 * 1024
"""The largest payload accepted by default (64 MiB)."""


def encode_frame(payload: bytes, *, frame_bytes_max: int = FRAME_BYTES_MAX) -> bytes:
    """The frame carrying `payload`. Raises `LocalProtocolError` if it is too large."""
    size = len(payload)
    if size > frame_bytes_max:
        raise LocalProtocolError(f"frame of {size} bytes exceeds the maximum {frame_bytes_max}")
    return size.to_bytes(HEADER_BYTES, "big") + payload


class FrameDecoder:
    """Splits a byte stream into frame payloads."""

    __slots__ = ("_buffer", "_frame_bytes_max", "_need")

    def __init__(self, *, frame_bytes_max: int = FRAME_BYTES_MAX) -> None:
        if frame_bytes_max < 1:
            raise ValueError(f"frame_bytes_max must be positive, not {frame_bytes_max}")
        self._frame_bytes_max = frame_bytes_max
        self._buffer = bytearray()
        self._need = -1  # payload length of the frame being read; -1 while reading a header

    def feed(self, data: bytes) -> list[bytes]:
        """Add `data`; return every payload completed by it, in order.

        Raises `RemoteProtocolError` on a declared length above the maximum; the decoder is
        then unusable (there is no way to find the next frame boundary).
        """
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        start = 0
        end = len(buffer)
        need = self._need
        # Walk the buffer with an offset and cut it once at the end: slicing the front off a
        # bytearray per frame would copy the rest of the buffer every time.
        while True:
            if need < 0:
                if end - start < HEADER_BYTES:
                    break
                need = int.from_bytes(buffer[start : start + HEADER_BYTES], "big")
                if need > self._frame_bytes_max:
                    self._buffer = bytearray()
                    raise RemoteProtocolError(
                        f"frame length {need} exceeds the maximum {self._frame_bytes_max}"
                    )
                start += HEADER_BYTES
            if end - start < need:
                break
            frames.append(bytes(buffer[start : start + need]))
            start += need
            need = -1
        self._need = need
        if start:
            del buffer[:start]
        return frames

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for a frame not yet complete."""
        return len(self._buffer)
