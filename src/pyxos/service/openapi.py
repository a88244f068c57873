"""`GET /openapi.json`: an OpenAPI 3.1 document of every route.

The error codes come from `errors.ERRORS`, each operation lists the codes it can answer, and a
test compares the document's (method, path) pairs with the routes the app registers, both ways,
so that the document cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyxos.service import openapi_coordination
from pyxos.service.errors import ERRORS
from pyxos.service.gopaxos_routes import EXIT_CRASH
from pyxos.service.inputs import BODY_BYTES_MAX, KEY_BYTES_MAX, VALUE_BYTES_MAX
from pyxos.service.kv_routes import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX
from pyxos.service.openapi_schemas import ANY, INT, STR, Json, ref, schemas
from pyxos.service.status_page import REFRESH_S

# Every route can answer these: another method on its path, or a bug.
_ALWAYS = ("method_not_allowed", "internal")
# And every route that waits for the cluster these.
_CLUSTER = ("unavailable", "no_quorum", "timeout")
_READ = ("bad_request", *_CLUSTER)
_WRITE_JSON = ("malformed_json", "invalid_body", "too_large", *_CLUSTER)


def _json(schema: Json, description: str = "OK") -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(name: str, where: str, description: str, schema: Json, required: bool = False) -> Json:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": schema,
    }


_KEY = _param(
    "key",
    "path",
    f"The key: the rest of the path, slashes allowed, percent-decoded, 1..{KEY_BYTES_MAX} "
    "bytes of UTF-8.",
    STR,
)
_CONSISTENCY = _param(
    "consistency",
    "query",
    "`linearizable` (a read index confirmed by a quorum) or `stale` (this node's state now).",
    {"type": "string", "enum": ["linearizable", "stale"], "default": "linearizable"},
)
_FENCE = [
    _param("lock", "query", "Fence the write with this lock's grant (with `token`).", STR),
    _param(
        "token",
        "query",
        "The fencing token of the lock's grant: the write is refused (`stale_token`) unless it "
        "is the current unexpired grant when the write is applied.",
        INT,
    ),
]
_ID = _param(
    "Id",
    "header",
    "Paxi client id (printable ASCII, may be empty): a label echoed in the reply; with "
    "`Pyxos-Session: exactly-once`, the session's client (not empty).",
    STR,
)
_CID = _param(
    "Cid",
    "header",
    "Paxi command id (an integer >= 0): a label echoed in the reply; with "
    "`Pyxos-Session: exactly-once`, the command's number (>= 1, increasing per `Id`).",
    STR,
)
_SESSION = _param(
    "Pyxos-Session",
    "header",
    "`exactly-once`: a write runs under the session (`Id`, `Cid`), both required, and is "
    "applied once however often it is sent. Absent: `Id` and `Cid` are labels.",
    {"type": "string", "enum": ["exactly-once"]},
)
NUM: Json = {"type": "number", "exclusiveMinimum": 0}
_FAULT = ("fault_injection_disabled", "bad_request")
_NODE_ID = _param("id", "query", "The peer: a node id, or Paxi's `zone.node`.", STR, True)
_SECONDS = _param("t", "query", "How long the fault lasts, in seconds.", NUM, True)
_PAXI_HEADERS = {
    "Id": {"description": "The request's `Id`, echoed.", "schema": STR},
    "Cid": {"description": "The request's `Cid`, echoed.", "schema": STR},
    "Ballot": {"description": "The node's promised ballot, `round.node`.", "schema": STR},
    "Slot": {
        "description": "A write: the slot that decided it. A read, or an exactly-once write "
        "answered again from the session table: the node's applied index when it answered.",
        "schema": STR,
    },
    "Pyxos-Found": {
        "description": "On a read: `true`, or `false` when the key is absent (the body is then "
        "empty, as Paxi answers).",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
}


def _op(
    summary: str,
    ok: Json,
    codes: Iterable[str],
    *,
    params: Iterable[Json] = (),
    body: Json | None = None,
) -> Json:
    responses: Json = {"200": ok}
    by_status: dict[int, list[str]] = {}
    for code in (*codes, *_ALWAYS):
        by_status.setdefault(ERRORS[code][0], []).append(code)
    for status, names in sorted(by_status.items()):
        schema = ref("Error")
        if "cas_mismatch" in names:
            schema = ref("CasMismatch")
        described = "; ".join(f"`{n}`: {ERRORS[n][1]}" for n in names)
        responses[str(status)] = _json(schema, described)
    operation: Json = {"summary": summary, "responses": responses}
    if params:
        operation["parameters"] = list(params)
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


def _raw(description: str, headers: Json | None = None) -> Json:
    answer: Json = {
        "description": description,
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def _paths() -> Json:
    raw_value = {"application/octet-stream": {"schema": {"type": "string"}}}
    log_params = [
        _param("file", "path", "Any one safe path segment; accepted and ignored.", STR),
        _param("from", "query", "First slot (default 1).", {"type": "integer", "minimum": 1}),
        _param("to", "query", "Last slot (default: the applied index).", INT),
        _param(
            "object",
            "query",
            "Under a protocol with a log per object (wpaxos): this object's log, in its slots.",
            STR,
        ),
    ]
    list_params = [
        _param("prefix", "query", "Only keys starting with this (default: all).", STR),
        _param(
            "limit",
            "query",
            f"At most this many items (default {LIST_LIMIT_DEFAULT}).",
            {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX},
        ),
        _param(
            "after",
            "query",
            "Only keys greater than this: the `next` of the previous page (default: none).",
            STR,
        ),
        _CONSISTENCY,
    ]
    write_body = {"application/json": {"schema": ref("SetRequest")}}
    set_op = _op(
        "GoPaxos: set a key (field names match without regard to case)",
        _json(ref("PutAnswer")),
        _WRITE_JSON,
        body=write_body,
    )
    set_in_path = _op(
        "GoPaxos' README: set a key to the last path segment",
        _json(ref("PutAnswer")),
        ("bad_request", "too_large", *_CLUSTER),
        params=[
            _param(
                "pair",
                "path",
                "`<key>/<value>`: the value is the last segment (percent-decoded bytes), the key "
                "the rest (slashes allowed).",
                STR,
            )
        ],
    )
    paxi_headers = [_ID, _CID, _SESSION]
    return {
        "/": {
            "get": _op(
                f"The cluster's status page (HTML; live, a new view every {REFRESH_S} s)",
                {"description": "OK", "content": {"text/html": {"schema": STR}}},
                (),
            ),
            "post": _op(
                "Paxi: one JSON command (a write of Value, or a read without it; field names "
                "match without regard to case)",
                _raw("The value read, or the previous value", _PAXI_HEADERS),
                ("bad_header", "stale_command", *_WRITE_JSON),
                params=paxi_headers,
                body={"application/json": {"schema": ref("PaxiCommand")}},
            ),
        },
        "/v1/kv": {
            "get": _op(
                "List keys by prefix (under wpaxos only with consistency=stale)",
                _json(ref("ListAnswer")),
                ("unsupported_by_protocol", *_READ),
                params=list_params,
            )
        },
        "/v1/kv/{key}": {
            "get": _op(
                "Read a key",
                _json(ref("KeyValue")),
                ("key_not_found", "too_large", *_READ),
                params=[_KEY, _CONSISTENCY],
            ),
            "put": _op(
                f"Write a key; the raw body (at most {VALUE_BYTES_MAX} bytes) is the value; "
                "fenced by `lock` and `token` if given",
                _json(ref("PutAnswer")),
                ("bad_request", "too_large", "stale_token", "unsupported_by_protocol", *_CLUSTER),
                params=[_KEY, *_FENCE],
                body=raw_value,
            ),
            "delete": _op(
                "Delete a key; fenced by `lock` and `token` if given",
                _json(ref("DeleteAnswer")),
                ("bad_request", "too_large", "stale_token", "unsupported_by_protocol", *_CLUSTER),
                params=[_KEY, *_FENCE],
            ),
        },
        "/v1/cas/{key}": {
            "post": _op(
                "Compare-and-set: write `value` if the key holds `expected` (null: absent)",
                _json(ref("CasAnswer")),
                ("bad_request", "cas_mismatch", *_WRITE_JSON),
                params=[_KEY],
                body={"application/json": {"schema": ref("CasRequest")}},
            )
        },
        "/store/set": {"post": set_op},
        "/store/set/": {"post": set_op},
        "/store/set/{pair}": {"get": set_in_path, "post": set_in_path},
        "/store/get/{key}": {
            "get": _op(
                "GoPaxos: read a key",
                _json(ref("KeyValue")),
                ("key_not_found", "too_large", *_READ),
                params=[_KEY, _CONSISTENCY],
            )
        },
        "/store/nop": {
            "get": _op("GoPaxos: a no-op through consensus", _json(ref("NopAnswer")), _CLUSTER)
        },
        "/crash": {
            "get": _op(
                f"Exit the process at once with status {EXIT_CRASH}; with `t`, Paxi's crash: "
                "stop talking and serving for `t` seconds (fault injection only)",
                _json({"oneOf": [ref("CrashAnswer"), ref("FaultAnswer")]}),
                ("fault_injection_disabled", "bad_request"),
                params=[_param("t", "query", "Paxi: crash in place for this many seconds.", NUM)],
            )
        },
        "/drop": {
            "get": _op(
                "Paxi: drop this node's messages to node `id` for `t` seconds",
                _json(ref("FaultAnswer")),
                _FAULT,
                params=[_NODE_ID, _SECONDS],
            )
        },
        "/slow": {
            "get": _op(
                "Paxi: delay this node's messages to node `id` by `delay` ms for `t` seconds",
                _json(ref("FaultAnswer")),
                _FAULT,
                params=[_NODE_ID, _param("delay", "query", "Milliseconds.", NUM, True), _SECONDS],
            )
        },
        "/flaky": {
            "get": _op(
                "Paxi: drop each message to node `id` with probability `p` for `t` seconds",
                _json(ref("FaultAnswer")),
                _FAULT,
                params=[_NODE_ID, _param("p", "query", "0 < p <= 1.", NUM, True), _SECONDS],
            )
        },
        "/v1/admin/faults": {
            "get": _op(
                "The active injected faults (fault injection only)",
                _json(ref("FaultList")),
                ("fault_injection_disabled",),
            ),
            "post": _op(
                "Inject a fault (fault injection only)",
                _json(ref("FaultAnswer")),
                ("fault_injection_disabled", "malformed_json", "invalid_body", "too_large"),
                body={"application/json": {"schema": ref("FaultRequest")}},
            ),
            "delete": _op(
                "Heal every injected fault now (fault injection only)",
                _json(ref("HealAnswer")),
                ("fault_injection_disabled",),
            ),
        },
        "/log/print/{file}": {
            "get": _op(
                "The committed log, one slot per line (see docs/api.md for the format)",
                {"description": "OK", "content": {"text/plain": {"schema": STR}}},
                ("bad_file_name", "bad_request"),
                params=log_params,
            )
        },
        "/log/objects": {
            "get": _op(
                "The objects whose logs this node has applied, each with its last slot "
                "(a protocol with a log per object); `per_object` false: one log",
                _json(ANY),
                (),
            )
        },
        "/status": {"get": _op("Node status (JSON)", _json(ref("Status")), ())},
        "/v1/cluster/status": {
            "get": _op(
                "Every member's status, health, lag and quorum, as this node sees them",
                _json(ref("ClusterView")),
                (),
            )
        },
        "/v1/cluster/events": {
            "get": _op(
                f"The cluster view as server-sent events, one every {REFRESH_S} s",
                {"description": "OK", "content": {"text/event-stream": {"schema": STR}}},
                (),
            )
        },
        "/healthz": {"get": _op("Liveness", _json(ref("Health")), ("unavailable",))},
        "/metrics": {
            "get": _op(
                "Prometheus text exposition",
                {"description": "OK", "content": {"text/plain": {"schema": STR}}},
                (),
            )
        },
        "/openapi.json": {"get": _op("This document", _json(ANY), ())},
        "/{key}": {
            "get": _op(
                "Paxi: read a key; the raw value (empty if absent, see `Pyxos-Found`)",
                _raw("The value", _PAXI_HEADERS),
                ("not_found", "bad_header", "too_large", *_READ),
                params=[_KEY, _CONSISTENCY, *paxi_headers],
            ),
            "put": _op(
                "Paxi: write a key; the raw body is the value, the answer the previous one",
                _raw("The previous value (empty if none)", _PAXI_HEADERS),
                ("not_found", "bad_header", "stale_command", "bad_request", "too_large", *_CLUSTER),
                params=[_KEY, *paxi_headers],
                body=raw_value,
            ),
            "post": _op(
                "Paxi: the same as PUT",
                _raw("The previous value (empty if none)", _PAXI_HEADERS),
                ("not_found", "bad_header", "stale_command", "bad_request", "too_large", *_CLUSTER),
                params=[_KEY, *paxi_headers],
                body=raw_value,
            ),
        },
    }


def openapi_document() -> Json:
    """The whole document, as a JSON-ready dict."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pyxos node HTTP API",
            "version": "1",
            "description": "Every node serves every route; writes are forwarded to the leader. "
            f"Keys are at most {KEY_BYTES_MAX} bytes, values {VALUE_BYTES_MAX} bytes, JSON "
            f"bodies {BODY_BYTES_MAX} bytes. Errors are JSON `{{code, message}}`. A key whose "
            "first path segment is a route name (v1, store, log, status, metrics, healthz, "
            "openapi.json, crash, drop, slow, flaky) is reached through /v1/kv only. "
            "See docs/api.md.",
        },
        "paths": {**_paths(), **openapi_coordination.paths()},
        "components": {"schemas": {**schemas(), **openapi_coordination.schemas()}},
    }
