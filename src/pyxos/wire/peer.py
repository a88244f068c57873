"""The peer envelope: what one node sends another inside a frame.

`Envelope(version, cluster, sender, message)` is encoded with msgpack as a 4-element array; the
message is the core's tagged `Message` union, so a new message type needs no change here. The
receiver checks the envelope before the message reaches the node: an undecodable payload, a
protocol version it does not speak or a cluster id other than its own raise
`RemoteProtocolError`, and the runtime drops the frame. (Whether `sender` is a member is the
transport's check: the codec does not know the membership.)
"""

from __future__ import annotations

import msgspec

from pyxos.core.messages import Message
from pyxos.wire.errors import RemoteProtocolError

PROTOCOL_VERSION = 1


class Envelope(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    version: int
    cluster: str
    sender: int
    message: Message


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(Envelope)


def encode_envelope(*, cluster: str, sender: int, message: Message) -> bytes:
    """The payload for `message` from `sender` in `cluster`, at the current protocol version."""
    envelope = Envelope(version=PROTOCOL_VERSION, cluster=cluster, sender=sender, message=message)
    return _ENCODER.encode(envelope)


def decode_envelope(payload: bytes, *, cluster: str) -> Envelope:
    """Decode and check a payload. Raises `RemoteProtocolError` for garbage, a wrong version or
    a foreign cluster id."""
    try:
        envelope = _DECODER.decode(payload)
    except ValueError as exc:
        # msgspec.DecodeError and ValidationError, and also UnicodeDecodeError: msgspec raises
        # that one as it is for a string that is not UTF-8.
        raise RemoteProtocolError(f"undecodable peer envelope: {exc}") from None
    if envelope.version != PROTOCOL_VERSION:
        raise RemoteProtocolError(
            f"peer protocol version {envelope.version}, this node speaks {PROTOCOL_VERSION}"
        )
    if envelope.cluster != cluster:
        raise RemoteProtocolError(
            f"envelope for cluster {envelope.cluster!r} from node {envelope.sender}, "
            f"this is cluster {cluster!r}"
        )
    return envelope
