"""The peer envelope: every message round-trips; garbage and strangers are refused."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyxos.core.commands import Command
from pyxos.core.ids import Ballot
from pyxos.core.multipaxos import SPEC
from pyxos.core.multipaxos.messages import (
    Accept,
    Accepted,
    AcceptedEntry,
    Commit,
    Forward,
    Heartbeat,
    Message,
    Prepare,
    Promise,
    ViewChange,
)
from pyxos.wire.errors import RemoteProtocolError
from pyxos.wire.peer import PROTOCOL_VERSION, Envelope, PeerCodec

C1 = PeerCodec(cluster="c1")

B = Ballot(3, 2)
CMD = Command(client_id=7, seq=1, op=b"\x00op")
MESSAGES: list[Message] = [
    ViewChange(view=4),
    Prepare(ballot=B, from_slot=1),
    Promise(
        ballot=B,
        from_slot=1,
        accepted=(AcceptedEntry(slot=1, ballot=Ballot(1, 1), batch=(CMD,)),),
        decided_upto=0,
    ),
    Accept(ballot=B, slot=5, batch=(CMD, CMD), commit_upto=4),
    Accepted(ballot=B, slot=5),
    Commit(ballot=B, upto=5),
    Heartbeat(ballot=B, commit_upto=5, read_round=9),
    Forward(commands=(CMD,)),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: Message) -> None:
    payload = C1.encode(sender=2, message=message)
    envelope = C1.decode(payload)
    assert envelope == Envelope(
        version=PROTOCOL_VERSION,
        cluster="c1",
        protocol=SPEC.wire_name,
        sender=2,
        message=message,
    )


def test_foreign_cluster_is_refused() -> None:
    payload = PeerCodec(cluster="other").encode(sender=2, message=ViewChange(view=1))
    with pytest.raises(RemoteProtocolError, match="cluster 'other'"):
        C1.decode(payload)


def test_wrong_version_is_refused() -> None:
    envelope = Envelope(
        version=PROTOCOL_VERSION + 1,
        cluster="c1",
        protocol=SPEC.wire_name,
        sender=2,
        message=Commit(ballot=B, upto=1),
    )
    payload = msgspec.msgpack.encode(envelope)
    with pytest.raises(RemoteProtocolError, match="version"):
        C1.decode(payload)


@pytest.mark.parametrize("protocol", ["multipaxos/2", "wpaxos/1"])
def test_another_protocol_or_version_of_it_is_refused(protocol: str) -> None:
    envelope = Envelope(
        version=PROTOCOL_VERSION,
        cluster="c1",
        protocol=protocol,
        sender=2,
        message=Commit(ballot=B, upto=1),
    )
    payload = msgspec.msgpack.encode(envelope)
    with pytest.raises(RemoteProtocolError, match=f"runs protocol {protocol}"):
        C1.decode(payload)


def test_an_envelope_of_the_first_format_is_refused() -> None:
    payload = msgspec.msgpack.encode([1, "c1", 2, ["vc", 1]])
    with pytest.raises(RemoteProtocolError):
        C1.decode(payload)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xc1",  # never used in msgpack
        b"garbage bytes",
        msgspec.msgpack.encode([2, "c1", "multipaxos/1", 2]),  # too short
        msgspec.msgpack.encode([2, "c1", "multipaxos/1", 2, ["nope", 1]]),  # unknown tag
        msgspec.msgpack.encode([2, "c1", "multipaxos/1", "two", ["vc", 1]]),  # wrong type
        msgspec.msgpack.encode({"version": 1}),
        b"\x94\x00\xa1\x80",  # a cluster id that is not UTF-8 (found by hypothesis)
    ],
)
def test_garbage_is_refused(payload: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        C1.decode(payload)


@settings(max_examples=500)
@given(st.lists(st.integers(min_value=0, max_value=255), min_size=1, max_size=8), st.data())
def test_corrupted_envelopes_raise_only_remote_protocol_error(
    positions: list[int], data: st.DataObject
) -> None:
    # Flip bytes of valid envelopes: closer to real damage than random bytes.
    message = data.draw(st.sampled_from(MESSAGES))
    payload = bytearray(C1.encode(sender=2, message=message))
    for position in positions:
        payload[position % len(payload)] = data.draw(st.integers(min_value=0, max_value=255))
    with contextlib.suppress(RemoteProtocolError):
        C1.decode(bytes(payload))


@settings(max_examples=2000)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_remote_protocol_error(payload: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        C1.decode(payload)
