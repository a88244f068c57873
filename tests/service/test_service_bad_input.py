"""Every bad input gets a JSON error with its documented status and code, and nothing stored
changes: the keys and the applied index are compared before and after the whole matrix."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from service_harness import Harness, run
from yarl import URL

from pyxos.service.errors import ERRORS
from pyxos.service.inputs import BODY_BYTES_MAX, KEY_BYTES_MAX, VALUE_BYTES_MAX

LONG_KEY = "k" * (KEY_BYTES_MAX + 1)
BIG_TEXT = "x" * (VALUE_BYTES_MAX + 1)
DEEP = b"[" * 100_000 + b"]" * 100_000

ONCE = {"Pyxos-Session": "exactly-once"}

# (method, path, request keywords, status, code)
Case = tuple[str, str, dict[str, Any], int, str]

CASES: list[Case] = [
    # /v1/kv/{key}
    ("PUT", f"/v1/kv/{LONG_KEY}", {"data": b"v"}, 413, "too_large"),
    ("PUT", "/v1/kv/k", {"data": BIG_TEXT.encode()}, 413, "too_large"),
    ("GET", f"/v1/kv/{LONG_KEY}", {}, 413, "too_large"),
    ("GET", "/v1/kv/k?consistency=eventual", {}, 400, "bad_request"),
    ("PATCH", "/v1/kv/k", {"data": b"v"}, 405, "method_not_allowed"),
    ("POST", "/v1/kv/k", {"data": b"v"}, 405, "method_not_allowed"),
    # /v1/kv (listing)
    ("GET", "/v1/kv?limit=0", {}, 400, "bad_request"),
    ("GET", "/v1/kv?limit=10001", {}, 400, "bad_request"),
    ("GET", "/v1/kv?limit=ten", {}, 400, "bad_request"),
    ("GET", "/v1/kv?limit=-1", {}, 400, "bad_request"),
    ("GET", f"/v1/kv?prefix={LONG_KEY}", {}, 400, "bad_request"),
    ("GET", f"/v1/kv?after={LONG_KEY}", {}, 400, "bad_request"),
    ("GET", "/v1/kv?consistency=maybe", {}, 400, "bad_request"),
    ("POST", "/v1/kv", {"data": b"v"}, 405, "method_not_allowed"),
    # /v1/cas/{key}
    ("POST", "/v1/cas/k", {"data": b"{"}, 400, "malformed_json"),
    ("POST", "/v1/cas/k", {"data": b"\xff\xfe"}, 400, "malformed_json"),
    ("POST", "/v1/cas/k", {"data": b'{"expected": null, "value": "\xff"}'}, 400, "malformed_json"),
    ("POST", "/v1/cas/k", {"data": b""}, 400, "malformed_json"),
    ("POST", "/v1/cas/k", {"data": DEEP}, 400, "invalid_body"),
    ("POST", "/v1/cas/k", {"data": b'{"expected": null, "value": "v"} x'}, 400, "malformed_json"),
    ("POST", "/v1/cas/k", {"json": ["expected", "value"]}, 400, "invalid_body"),
    ("POST", "/v1/cas/k", {"json": {"value": "v"}}, 400, "invalid_body"),
    ("POST", "/v1/cas/k", {"json": {"expected": None}}, 400, "invalid_body"),
    ("POST", "/v1/cas/k", {"json": {"expected": None, "value": 1}}, 400, "invalid_body"),
    ("POST", "/v1/cas/k", {"json": {"expected": 0, "value": "v"}}, 400, "invalid_body"),
    ("POST", "/v1/cas/k", {"json": {"expected": None, "value": "v", "x": 1}}, 400, "invalid_body"),
    (
        "POST",
        "/v1/cas/k",
        {"json": {"expected": None, "value": "v", "encoding": "hex"}},
        400,
        "invalid_body",
    ),
    (
        "POST",
        "/v1/cas/k",
        {"json": {"expected": None, "value": "not base64!", "encoding": "base64"}},
        400,
        "invalid_body",
    ),
    ("POST", "/v1/cas/k", {"json": {"expected": None, "value": BIG_TEXT}}, 413, "too_large"),
    ("POST", "/v1/cas/k", {"data": b" " * (BODY_BYTES_MAX + 1)}, 413, "too_large"),
    ("POST", f"/v1/cas/{LONG_KEY}", {"json": {"expected": None, "value": "v"}}, 413, "too_large"),
    ("GET", "/v1/cas/k", {}, 405, "method_not_allowed"),
    # GoPaxos
    ("POST", "/store/set", {"data": b"key=k&value=v"}, 400, "malformed_json"),
    ("POST", "/store/set", {"json": {"key": "k"}}, 400, "invalid_body"),
    ("POST", "/store/set", {"json": {"key": 1, "value": "v"}}, 400, "invalid_body"),
    ("POST", "/store/set", {"json": {"key": "", "value": "v"}}, 400, "invalid_body"),
    ("POST", "/store/set", {"json": {"key": "k", "value": None}}, 400, "invalid_body"),
    ("POST", "/store/set", {"json": {"key": LONG_KEY, "value": "v"}}, 413, "too_large"),
    ("POST", "/store/set", {"json": {"key": "k", "Key": "j", "value": "v"}}, 400, "invalid_body"),
    ("POST", "/store/set", {"json": {"key": "k", "value": "v", "x": 1}}, 400, "invalid_body"),
    ("POST", "/store/set/", {"json": [{"key": "k", "value": "v"}]}, 400, "invalid_body"),
    ("GET", "/store/set/k", {}, 400, "bad_request"),
    ("GET", f"/store/set/{LONG_KEY}/v", {}, 413, "too_large"),
    ("DELETE", "/store/set/k/v", {}, 405, "method_not_allowed"),
    ("POST", "/store/set/", {"json": {"key": "k", "value": BIG_TEXT}}, 413, "too_large"),
    ("GET", "/store/set", {}, 405, "method_not_allowed"),
    ("GET", "/store/get/k?consistency=no", {}, 400, "bad_request"),
    ("GET", f"/store/get/{LONG_KEY}", {}, 413, "too_large"),
    ("POST", "/store/nop", {}, 405, "method_not_allowed"),
    ("POST", "/crash", {}, 405, "method_not_allowed"),
    ("GET", "/log/print/f?from=0", {}, 400, "bad_request"),
    ("GET", "/log/print/f?to=x", {}, 400, "bad_request"),
    ("POST", "/log/print/f", {}, 405, "method_not_allowed"),
    # Paxi /{key}
    ("PUT", "/k", {"data": b"v", "headers": {**ONCE, "Id": "c", "Cid": "0"}}, 400, "bad_header"),
    ("PUT", "/k", {"data": b"v", "headers": {"Id": "c", "Cid": "-1"}}, 400, "bad_header"),
    ("PUT", "/k", {"data": b"v", "headers": {"Id": "c", "Cid": "1.5"}}, 400, "bad_header"),
    ("PUT", "/k", {"data": b"v", "headers": {"Id": "c", "Cid": "+1"}}, 400, "bad_header"),
    ("PUT", "/k", {"data": b"v", "headers": {"Id": "c", "Cid": "9" * 20}}, 400, "bad_header"),
    ("PUT", "/k", {"data": b"v", "headers": {**ONCE, "Id": "c"}}, 400, "bad_header"),
    ("PUT", "/k", {"data": b"v", "headers": {**ONCE, "Cid": "1"}}, 400, "bad_header"),
    ("PUT", "/k", {"data": b"v", "headers": {**ONCE, "Id": "a b", "Cid": "1"}}, 400, "bad_header"),
    ("POST", "/k", {"data": b"v", "headers": {**ONCE, "Id": "", "Cid": "1"}}, 400, "bad_header"),
    ("PUT", "/k", {"data": b"v", "headers": {"Pyxos-Session": "maybe"}}, 400, "bad_header"),
    ("GET", "/k", {"headers": {"Pyxos-Session": "twice"}}, 400, "bad_header"),
    ("GET", "/k", {"headers": {"Id": "c", "Cid": "x"}}, 400, "bad_header"),
    ("PUT", "/k", {"data": BIG_TEXT.encode()}, 413, "too_large"),
    ("PUT", f"/{LONG_KEY}", {"data": b"v"}, 413, "too_large"),
    ("DELETE", "/k", {}, 405, "method_not_allowed"),
    # Paxi POST /
    ("POST", "/", {"data": b"not json"}, 400, "malformed_json"),
    ("POST", "/", {"json": {"Value": "dg=="}}, 400, "invalid_body"),
    ("POST", "/", {"json": {"Key": True, "Value": "dg=="}}, 400, "invalid_body"),
    ("POST", "/", {"json": {"Key": "", "Value": "dg=="}}, 400, "invalid_body"),
    ("POST", "/", {"json": {"Key": "k", "Value": 5}}, 400, "invalid_body"),
    ("POST", "/", {"json": {"Key": "k", "Value": "v!"}}, 400, "invalid_body"),
    ("POST", "/", {"json": {"Key": "k", "Valeu": "dg=="}}, 400, "invalid_body"),
    ("POST", "/", {"json": {"Key": "k", "KEY": "j"}}, 400, "invalid_body"),
    ("POST", "/", {"json": ["Key", "k"]}, 400, "invalid_body"),
    ("POST", "/", {"json": {"Key": "k", "Value": "dg==", "CommandID": "1"}}, 400, "invalid_body"),
    (
        "POST",
        "/",
        {
            "json": {"Key": "k", "Value": "dg==", "ClientID": "c", "CommandID": 0},
            "headers": ONCE,
        },
        400,
        "bad_header",
    ),
    (
        "POST",
        "/",
        {"json": {"Key": "k", "Value": "dg==", "ClientID": "c"}, "headers": ONCE},
        400,
        "bad_header",
    ),
    (
        "POST",
        "/",
        {
            "json": {"Key": "k", "Value": "dg==", "ClientID": "c", "CommandID": 1},
            "headers": {"Id": "d", "Cid": "1"},
        },
        400,
        "bad_header",
    ),
    (
        "POST",
        "/",
        {"json": {"Key": "k", "Value": base64.b64encode(BIG_TEXT.encode()).decode()}},
        413,
        "too_large",
    ),
    ("PUT", "/", {"data": b"v"}, 405, "method_not_allowed"),
    # Unknown routes
    ("GET", "/v1/nope", {}, 404, "not_found"),
    ("GET", "/v1/kv/", {}, 404, "not_found"),
    ("PUT", "/store/other", {"data": b"v"}, 404, "not_found"),
    ("GET", "/healthz/deeper", {}, 404, "not_found"),
]


async def _chunks(total: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * 65536
        sent += 65536


@pytest.mark.parametrize("group", range(4))
def test_bad_inputs_get_their_code_and_change_nothing(group: int) -> None:
    cases = CASES[group::4]

    async def scenario(h: Harness) -> None:
        c = h.client
        await c.put("/v1/kv/k", data=b"original")
        keys, applied = await h.keys(), h.runner.node.applied_upto
        for method, path, kwargs, status, code in cases:
            r = await c.request(method, URL(path, encoded="%" in path), **kwargs)
            body = await r.json()
            assert (r.status, body["code"]) == (status, code), (method, path, body)
            assert ERRORS[code][0] == status
            assert isinstance(body["message"], str) and body["message"]
        assert await h.keys() == keys == {"k": "original"}
        assert h.runner.node.applied_upto == applied

    run(scenario)


def test_chunked_bodies_over_the_limit_are_refused() -> None:
    async def scenario(h: Harness) -> None:
        c = h.client
        r = await c.put("/v1/kv/k", data=_chunks(VALUE_BYTES_MAX + 1))
        assert (r.status, (await r.json())["code"]) == (413, "too_large")
        r = await c.put("/paxi", data=_chunks(VALUE_BYTES_MAX + 1))
        assert (r.status, (await r.json())["code"]) == (413, "too_large")
        r = await c.post("/store/set", data=_chunks(BODY_BYTES_MAX + 1))
        assert (r.status, (await r.json())["code"]) == (413, "too_large")
        assert await h.keys() == {}

    run(scenario)


def test_a_key_that_is_not_utf8_is_refused() -> None:
    async def scenario(h: Harness) -> None:
        for path in ("/v1/kv/%ED%A0%80", "/%ED%A0%80"):
            r = await h.client.put(URL(path, encoded=True), data=b"v")
            assert r.status == 400, path
        assert await h.keys() == {}

    run(scenario)


def test_percent_escaped_keys_are_decoded_exactly() -> None:
    async def scenario(h: Harness) -> None:
        await h.client.put(URL("/v1/kv/a%25b%2Fc", encoded=True), data=b"1")
        await h.client.put(URL("/%E2%82%AC", encoded=True), data=b"2")
        assert await h.keys() == {"a%b/c": "1", "€": "2"}

    run(scenario)
