"""The JSON schemas of the OpenAPI document (`openapi.py`): request and answer bodies."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyxos.runtime.faults import FAULT_KINDS
from pyxos.service.errors import ERRORS

Json = dict[str, Any]


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: Iterable[str], *, closed: bool = False, **properties: Json) -> Json:
    schema: Json = {"type": "object", "properties": properties, "required": list(required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


STR: Json = {"type": "string"}
INT: Json = {"type": "integer"}
BOOL: Json = {"type": "boolean"}
STR_OR_NULL: Json = {"type": ["string", "null"]}
B64: Json = {"type": "string", "enum": ["base64"]}
ENCODING_IN: Json = {"type": "string", "enum": ["utf-8", "base64"], "default": "utf-8"}
ANY: Json = {"type": "object", "additionalProperties": True}


def schemas() -> Json:
    """`components.schemas`."""
    return {
        "Error": obj(
            ["code", "message"],
            code={"type": "string", "enum": sorted(ERRORS)},
            message=STR,
            # `no_quorum`: the ids of the nodes the answering node cannot reach.
            unreachable={"type": "array", "items": INT},
        ),
        "CasMismatch": obj(
            ["code", "message", "current"],
            code={"const": "cas_mismatch"},
            message=STR,
            current=STR_OR_NULL,
            current_encoding=B64,
        ),
        "KeyValue": obj(["key", "value"], key=STR, value=STR, encoding=B64),
        "PutAnswer": obj(["key", "previous"], key=STR, previous=STR_OR_NULL, previous_encoding=B64),
        "DeleteAnswer": obj(
            ["key", "deleted", "previous"],
            key=STR,
            deleted=BOOL,
            previous=STR_OR_NULL,
            previous_encoding=B64,
        ),
        "CasRequest": obj(
            ["expected", "value"],
            closed=True,
            expected=STR_OR_NULL,
            value=STR,
            encoding=ENCODING_IN,
        ),
        "CasAnswer": obj(
            ["key", "ok", "previous"],
            key=STR,
            ok={"const": True},
            previous=STR_OR_NULL,
            previous_encoding=B64,
        ),
        "ListAnswer": obj(
            ["items", "truncated", "next"],
            items={"type": "array", "items": ref("KeyValue")},
            truncated=BOOL,
            next=STR_OR_NULL,
        ),
        "SetRequest": obj(["key", "value"], closed=True, key=STR, value=STR, encoding=ENCODING_IN),
        "NopAnswer": obj(["ok", "applied_index"], ok={"const": True}, applied_index=INT),
        "CrashAnswer": obj(
            ["ok", "node", "exit_status"], ok={"const": True}, node=INT, exit_status=INT
        ),
        "Fault": obj(
            ["kind", "peers", "remaining_s"],
            kind={"type": "string", "enum": list(FAULT_KINDS)},
            peers={"type": "array", "items": INT},
            remaining_s={"type": "number"},
            delay_ms=INT,
            p={"type": "number"},
        ),
        "FaultRequest": obj(
            ["kind", "duration_s"],
            closed=True,
            kind={"type": "string", "enum": list(FAULT_KINDS)},
            duration_s={"type": "number", "exclusiveMinimum": 0},
            peers={"type": "array", "items": INT},
            delay_ms=INT,
            p={"type": "number"},
        ),
        "FaultAnswer": obj(
            ["ok", "node", "fault"], ok={"const": True}, node=INT, fault=ref("Fault")
        ),
        "FaultList": obj(
            ["node", "faults", "counters"],
            node=INT,
            faults={"type": "array", "items": ref("Fault")},
            counters=ANY,
        ),
        "HealAnswer": obj(["ok", "node", "healed"], ok={"const": True}, node=INT, healed=INT),
        "PaxiCommand": obj(
            ["Key"],
            closed=True,
            Key={"type": ["string", "integer"]},
            Value={
                "type": ["string", "null"],
                "description": "base64 unless `Encoding` is utf-8; absent or null: a read",
            },
            ClientID=STR,
            CommandID={"type": "integer", "minimum": 0},
            Encoding={"type": "string", "enum": ["base64", "utf-8"], "default": "base64"},
        ),
        "Health": obj(["ok", "node"], ok={"const": True}, node=INT, cluster=STR_OR_NULL),
        "Status": {
            **ANY,
            "description": "node, name (its id as the cluster file writes it, e.g. 1.2), role, "
            "leader, view, ballot, indexes, members, counters, requests (rate and latency)",
        },
        "ClusterView": {
            **ANY,
            "description": "cluster, served_by, leader, quorum (bool), up, summary, requests, "
            "and members: each with node, name, http, health (up or down), error, "
            "last_contact_s, has_quorum, lag and its last status",
        },
    }
