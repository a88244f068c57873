"""The OpenAPI paths and schemas of the coordination routes: locks, ask, queues, the map.

Kept apart from `openapi.py` so that the lease routes can grow without the main document
growing; `openapi.py` merges these into its `paths` and `components.schemas`.
"""

from __future__ import annotations

from pyxos.service.lock_routes import WAIT_MS_MAX
from pyxos.service.openapi_schemas import B64, BOOL, INT, STR, STR_OR_NULL, Json, obj, ref

INT_OR_NULL: Json = {"type": ["integer", "null"]}
_LEASE = {
    "lock": STR,
    "holder": STR_OR_NULL,
    "token": {**INT_OR_NULL, "description": "The grant's fencing token (null: free)."},
    "expires_ms": {**INT_OR_NULL, "description": "Log time at which the lease ends."},
    "remaining_ms": INT_OR_NULL,
    "waiting": {**INT, "description": "How many owners wait in line for the lock."},
}


def _lease(required: list[str], more: Json | None = None) -> Json:
    schema = obj(required, **(more or {}))
    schema["properties"].update(_LEASE)
    return schema


def schemas() -> Json:
    return {
        "Lease": _lease(["lock", "holder", "token", "expires_ms", "remaining_ms", "waiting"]),
        "LeaseGranted": _lease(["lock", "holder", "token", "granted"], {"granted": BOOL}),
        "LeaseReleased": _lease(["lock", "holder", "released"], {"released": BOOL}),
        "AcquireRequest": obj(
            ["owner", "ttl_ms"],
            closed=True,
            owner=STR,
            ttl_ms={"type": "integer", "minimum": 1},
            wait={"type": "boolean", "default": False},
            timeout_ms={"type": "integer", "minimum": 0, "maximum": WAIT_MS_MAX, "default": 0},
        ),
        "RefreshRequest": obj(
            ["owner", "token", "ttl_ms"], closed=True, owner=STR, token=INT, ttl_ms=INT
        ),
        "ReleaseRequest": obj(["owner", "token"], closed=True, owner=STR, token=INT),
        "AskAnswer": obj(["key", "value"], key=STR, value=STR, encoding=B64, decided_now=BOOL),
        "QueueLength": obj(["queue", "length"], queue=STR, length=INT),
        "QueueItem": obj(
            ["queue", "item", "length"], queue=STR, item=STR, encoding=B64, length=INT
        ),
        "MapVersion": obj(["key", "version"], key=STR, version=INT),
        "MapEntry": obj(["key", "value", "version"], key=STR, value=STR, encoding=B64, version=INT),
    }


def paths() -> Json:
    from pyxos.service import openapi as doc  # here: that module imports this one

    op, param, answer = doc._op, doc._param, doc._json
    cluster = ("unavailable", "no_quorum", "timeout")
    json_write = ("malformed_json", "invalid_body", "too_large", "bad_request", *cluster)
    raw_write = ("bad_request", "too_large", *cluster)
    read = ("bad_request", "too_large", *cluster)
    raw = {"application/octet-stream": {"schema": STR}}
    name = param("key", "path", "The name: the rest of the path, 1..1024 bytes of UTF-8.", STR)
    version = param(
        "version",
        "query",
        "Only if the entry is at this version (0: only if absent).",
        {"type": "integer", "minimum": 0},
    )
    consistency = doc._CONSISTENCY

    def body(schema: str) -> Json:
        return {"application/json": {"schema": ref(schema)}}

    return {
        "/v1/locks/{key}": {
            "post": op(
                "Acquire a lease (leaseGet); with `wait`, queue until granted or `timeout_ms` "
                "(leaseWait)",
                answer(ref("LeaseGranted")),
                ("lock_held", "held_by_you", *json_write),
                params=[name],
                body=body("AcquireRequest"),
            ),
            "get": op(
                "Who holds the lock, with which token, for how long (leaseWhose)",
                answer(ref("Lease")),
                read,
                params=[name, consistency],
            ),
            "put": op(
                "Refresh the lease: holder only (leaseRefresh)",
                answer(ref("Lease")),
                ("not_holder", *json_write),
                params=[name],
                body=body("RefreshRequest"),
            ),
            "delete": op(
                "Release the lease: holder only; the first waiter is granted at once "
                "(leaseRelease)",
                answer(ref("LeaseReleased")),
                ("not_holder", *json_write),
                params=[name],
                body=body("ReleaseRequest"),
            ),
        },
        "/v1/ask/{key}": {
            "post": op(
                "Propose the raw body; the first value proposed for the key is decided and "
                "returned to every caller",
                answer(ref("AskAnswer")),
                raw_write,
                params=[name],
                body=raw,
            ),
            "get": op(
                "Learn the decided value, proposing nothing",
                answer(ref("AskAnswer")),
                ("not_decided", *read),
                params=[name, consistency],
            ),
        },
        "/v1/queues/{key}": {
            "post": op(
                "Push the raw body at the tail",
                answer(ref("QueueLength")),
                raw_write,
                params=[name],
                body=raw,
            ),
            "get": op(
                "Peek at the head",
                answer(ref("QueueItem")),
                ("queue_empty", *read),
                params=[name, consistency],
            ),
            "delete": op(
                "Pop the head",
                answer(ref("QueueItem")),
                ("queue_empty", *raw_write),
                params=[name],
            ),
        },
        "/v1/map/{key}": {
            "get": op(
                "Read an entry and its version",
                answer(ref("MapEntry")),
                ("key_not_found", *read),
                params=[name, consistency],
            ),
            "put": op(
                "Write the raw body; with `version`, only if the entry is at that version",
                answer(ref("MapVersion")),
                ("version_conflict", *raw_write),
                params=[name, version],
                body=raw,
            ),
            "delete": op(
                "Delete an entry; with `version`, only at that version",
                answer(ref("MapEntry")),
                ("key_not_found", "version_conflict", *raw_write),
                params=[name, version],
            ),
        },
    }
