"""The peer envelope: what one node sends another inside a frame.

`Envelope(version, cluster, protocol, sender, message)` is encoded with msgpack as a 5-element
array. `version` is the envelope's own format; `protocol` is the sender's protocol and its
version (`ProtocolSpec.wire_name`, e.g. `multipaxos/1`); the message is that protocol's tagged
message union, so a new message type needs no change here. The receiver checks the envelope
before the message reaches the node: an undecodable payload, an envelope version it does not
speak, another protocol (or version of it) or a cluster id other than its own raise
`RemoteProtocolError`, and the runtime drops the frame. (Whether `sender` is a member is the
transport's check: the codec does not know the membership.)
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from pyxos.core.io import PeerMessage
from pyxos.core.protocol import ProtocolSpec
from pyxos.core.protocols import DEFAULT_PROTOCOL, protocol_spec
from pyxos.wire.errors import RemoteProtocolError

PROTOCOL_VERSION = 2
"""The envelope format (2: the envelope names the sender's protocol)."""

M = TypeVar("M")


class Envelope(msgspec.Struct, Generic[M], frozen=True, kw_only=True, array_like=True):
    version: int
    cluster: str
    protocol: str
    sender: int
    message: M


class PeerCodec:
    """Envelopes of one cluster running one protocol: encode ours, check and decode theirs."""

    __slots__ = ("_decoder", "_encoder", "cluster", "protocol")

    def __init__(self, *, cluster: str, protocol: ProtocolSpec | None = None) -> None:
        spec = protocol if protocol is not None else protocol_spec(DEFAULT_PROTOCOL)
        self.cluster = cluster
        self.protocol = spec.wire_name
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder: msgspec.msgpack.Decoder[Envelope[Any]] = msgspec.msgpack.Decoder(
            Envelope[spec.message_type]  # type: ignore[name-defined]
        )

    def encode(self, *, sender: int, message: PeerMessage) -> bytes:
        """The payload for `message` from `sender`, at the current envelope version."""
        envelope = Envelope(
            version=PROTOCOL_VERSION,
            cluster=self.cluster,
            protocol=self.protocol,
            sender=sender,
            message=message,
        )
        return self._encoder.encode(envelope)

    def decode(self, payload: bytes) -> Envelope[PeerMessage]:
        """Decode and check a payload. Raises `RemoteProtocolError` for garbage, a wrong
        version, another protocol or a foreign cluster id."""
        try:
            envelope: Envelope[PeerMessage] = self._decoder.decode(payload)
        except ValueError as exc:
            # msgspec.DecodeError and ValidationError, and also UnicodeDecodeError: msgspec
            # raises that one as it is for a string that is not UTF-8.
            raise RemoteProtocolError(f"undecodable peer envelope: {exc}") from None
        if envelope.version != PROTOCOL_VERSION:
            raise RemoteProtocolError(
                f"peer envelope version {envelope.version}, this node speaks {PROTOCOL_VERSION}"
            )
        if envelope.cluster != self.cluster:
            raise RemoteProtocolError(
                f"envelope for cluster {envelope.cluster!r} from node {envelope.sender}, "
                f"this is cluster {self.cluster!r}"
            )
        if envelope.protocol != self.protocol:
            raise RemoteProtocolError(
                f"node {envelope.sender} runs protocol {envelope.protocol}, this node runs "
                f"{self.protocol}: every member of a cluster must run the same protocol"
            )
        return envelope
