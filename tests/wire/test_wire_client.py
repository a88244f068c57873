"""The fast client protocol's messages: round trips, garbage refused, hellos checked."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyxos.runtime import runner
from pyxos.service.app import KEY_BYTES_MAX, VALUE_BYTES_MAX
from pyxos.wire import client
from pyxos.wire.client import (
    CLIENT_PROTOCOL_VERSION,
    ERROR_CODES,
    Hello,
    Request,
    Response,
    Welcome,
    check_hello,
    decode_to_client,
    decode_to_node,
    encode_message,
    error_response,
)
from pyxos.wire.errors import RemoteProtocolError

TO_NODE = [
    Hello(version=CLIENT_PROTOCOL_VERSION, cluster="c"),
    Hello(version=CLIENT_PROTOCOL_VERSION),
    Request(id=1, kind="write", op=b"\x93\xa3put", client_id=1 << 50, seq=7),
    Request(id=2, kind="read", op=b"q", linearizable=False),
    Request(id=3, kind="status"),
]
TO_CLIENT = [
    Welcome(version=1, cluster="c", node=2, members={1: "h:1", 2: "h:2"}),
    Response(id=1, status="ok", result=b"\x00\xff"),
    Response(id=2, status="timeout", message="no answer; the outcome is unknown"),
]


@pytest.mark.parametrize("message", TO_NODE, ids=repr)
def test_what_a_client_sends_round_trips(message: Hello | Request) -> None:
    assert decode_to_node(encode_message(message)) == message


@pytest.mark.parametrize("message", TO_CLIENT, ids=repr)
def test_what_a_node_sends_round_trips(message: Welcome | Response) -> None:
    assert decode_to_client(encode_message(message)) == message


@given(
    request_id=st.integers(min_value=0, max_value=(1 << 64) - 1),
    op=st.binary(max_size=100),
    client_id=st.integers(min_value=0, max_value=(1 << 63) - 1),
    seq=st.integers(min_value=0, max_value=(1 << 63) - 1),
    linearizable=st.booleans(),
)
def test_any_request_round_trips(
    request_id: int, op: bytes, client_id: int, seq: int, linearizable: bool
) -> None:
    request = Request(
        id=request_id, kind="write", op=op, client_id=client_id, seq=seq, linearizable=linearizable
    )
    assert decode_to_node(encode_message(request)) == request


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xc1",  # never valid msgpack
        b"garbage that is not msgpack at all",
        msgspec.msgpack.encode(["req", 1, "delete-everything"]),  # an unknown kind
        msgspec.msgpack.encode(["req", "one", "write"]),  # a wrong type
        msgspec.msgpack.encode(["nope", 1]),  # an unknown tag
        msgspec.msgpack.encode(["hello", 1, b"\xff"]),  # bytes where a str goes
        encode_message(Response(id=1, status="ok")),  # the node's message, sent to a node
    ],
)
def test_garbage_sent_to_a_node_is_refused(payload: bytes) -> None:
    with pytest.raises(RemoteProtocolError, match="undecodable client message"):
        decode_to_node(payload)


def test_a_node_message_not_meant_for_a_client_is_refused() -> None:
    with pytest.raises(RemoteProtocolError, match="undecodable node message"):
        decode_to_client(encode_message(Request(id=1, kind="status")))


@given(st.binary(max_size=200))
def test_no_bytes_crash_the_decoders(payload: bytes) -> None:
    for decode in (decode_to_node, decode_to_client):
        with contextlib.suppress(RemoteProtocolError):
            decode(payload)


def test_hellos_are_checked() -> None:
    assert check_hello(Hello(version=CLIENT_PROTOCOL_VERSION), cluster="c") is None
    assert check_hello(Hello(version=CLIENT_PROTOCOL_VERSION, cluster="c"), cluster="c") is None
    why = check_hello(Hello(version=99, cluster="c"), cluster="c")
    assert why is not None and "version 99" in why
    why = check_hello(Hello(version=CLIENT_PROTOCOL_VERSION, cluster="x"), cluster="c")
    assert why is not None and "cluster 'c', not 'x'" in why


def test_error_responses_use_the_stable_codes() -> None:
    assert {"bad_request", "too_large", "unavailable", "no_quorum", "timeout"} <= ERROR_CODES
    response = error_response(5, "no_quorum", "no leader")
    assert (response.id, response.ok, response.status) == (5, False, "no_quorum")
    assert Response(id=1, status="ok").ok
    with pytest.raises(ValueError, match="unknown error code"):
        error_response(1, "oops", "")


def test_limits_match_the_http_api_and_the_runner() -> None:
    assert (client.KEY_BYTES_MAX, client.VALUE_BYTES_MAX) == (KEY_BYTES_MAX, VALUE_BYTES_MAX)
    assert client.CLIENT_ID_MIN == runner.CLIENT_ID_MIN
    assert client.REQUEST_FRAME_BYTES_MAX > 2 * VALUE_BYTES_MAX + KEY_BYTES_MAX
