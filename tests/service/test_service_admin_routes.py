"""What operators read: status, health, metrics, the status page and the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
from service_harness import Harness, run

from pyxos.runtime.status import StatusCounters, stopped
from pyxos.service.errors import ERRORS
from pyxos.service.metrics import HttpCounters, render_metrics

_SAMPLE = re.compile(
    r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r'(?:\{(?P<labels>[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)\})?'
    r" (?P<value>-?[0-9]+(?:\.[0-9]+)?)"
)


def parse_prometheus(text: str) -> dict[str, dict[str, float]]:
    """A strict little parser of the text format: {family: {labels: value}}. Fails on any line
    it does not understand, a sample before its HELP and TYPE, or a counter not named _total."""
    assert text.endswith("\n")
    helps: set[str] = set()
    types: dict[str, str] = {}
    families: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert help_text and name not in helps, line
            helps.add(name)
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in ("counter", "gauge") and name not in types, line
            types[name] = kind
        else:
            match = _SAMPLE.fullmatch(line)
            assert match is not None, f"not a sample: {line!r}"
            name = match["name"]
            assert name in helps and name in types, f"{name} has no HELP/TYPE before it"
            if types[name] == "counter":
                assert name.endswith("_total"), name
            labels = match["labels"] or ""
            assert labels not in families.setdefault(name, {}), f"duplicate sample {line!r}"
            families[name][labels] = float(match["value"])
    return families


def test_status_and_healthz() -> None:
    async def scenario(h: Harness) -> None:
        await h.client.put("/v1/kv/k", data=b"v")
        r = await h.client.get("/status")
        status = await r.json()
        assert (status["node"], status["role"], status["leader"]) == (1, "leader", 1)
        assert status["applied_index"] >= 1
        r = await h.client.get("/healthz")
        assert await r.json() == {"ok": True, "node": 1, "cluster": None}

    run(scenario)


def test_metrics_is_prometheus_text() -> None:
    async def scenario(h: Harness) -> None:
        await h.client.put("/v1/kv/k", data=b"v")
        await h.client.get("/v1/nope")  # a reserved first segment: 404 not_found
        r = await h.client.get("/metrics")
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        families = parse_prometheus(await r.text())
        assert families["pyxos_is_leader"] == {"": 1.0}
        assert families["pyxos_applied_index"][""] >= 1
        for name in ("steps", "syncs", "records_synced", "client_retries", "client_timeouts"):
            assert f"pyxos_{name}_total" in families
        requests = families["pyxos_http_requests_total"]
        assert requests['method="PUT",route="/v1/kv/{key}",status="200"'] == 1
        assert requests['method="GET",route="/{key}",status="404"'] == 1

    run(scenario)


def test_metrics_of_a_full_status_escape_labels_and_count_every_section() -> None:
    status = msgspec.structs.replace(
        stopped(2),
        role="follower",
        cluster='we"ird\\name\n',
        applied_index=5,
        peers_connected=[1, 3],
        counters=StatusCounters(steps=10),
        transport={"frames_sent": 4},
        client_server={"requests": 3},
    )
    families = parse_prometheus(render_metrics(status, HttpCounters()))
    assert families["pyxos_node_info"] == {
        'node="2",cluster="we\\"ird\\\\name\\n",role="follower"': 1.0
    }
    assert families["pyxos_is_leader"] == {"": 0.0}
    assert families["pyxos_leader_node"] == {"": 0.0}
    assert families["pyxos_applied_index"] == {"": 5.0}
    assert families["pyxos_peers_connected"] == {"": 2.0}
    assert families["pyxos_steps_total"] == {"": 10.0}
    assert families["pyxos_transport_frames_sent_total"] == {"": 4.0}
    assert families["pyxos_client_server_requests_total"] == {"": 3.0}


def test_status_page_is_one_self_contained_page_that_streams_the_cluster() -> None:
    async def scenario(h: Harness) -> None:
        r = await h.client.get("/")
        assert r.status == 200
        assert r.content_type == "text/html"
        page = await r.text()
        assert page.startswith("<!doctype html>")
        assert '<meta name="viewport"' in page  # readable on a phone
        assert 'new EventSource("/v1/cluster/events")' in page
        # No build step and nothing from elsewhere: no external script, style or font.
        assert (
            re.search(r"<script[^>]+src=|<link[^>]+stylesheet|@import|https?://[a-z]", page) is None
        )
        # Data goes in as text, never as markup.
        assert "innerHTML" not in page and "textContent" in page

    run(scenario)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_openapi_documents_every_registered_route_and_only_those() -> None:
    async def scenario(h: Harness) -> None:
        r = await h.client.get("/openapi.json")
        document = await r.json()
        assert document["openapi"].startswith("3.1")
        registered = {
            (route.method.lower(), route.resource.canonical)
            for route in h.client.server.app.router.routes()
            if route.method != "*" and route.resource is not None
        }
        documented = {
            (method, path)
            for path, operations in document["paths"].items()
            for method in operations
        }
        assert registered == documented
        for path, operations in document["paths"].items():
            names = set(re.findall(r"\{(\w+)\}", path))
            for operation in operations.values():
                declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
                assert declared == names, path
                assert "200" in operation["responses"]
                assert "405" in operation["responses"]
        for ref in _refs(document):
            assert _resolve(document, ref) is not None
        codes = document["components"]["schemas"]["Error"]["properties"]["code"]["enum"]
        assert codes == sorted(ERRORS)
        text = await r.text()
        for code in ERRORS:  # and each is described on at least one operation
            assert f"`{code}`" in text, code

    run(scenario)


def test_the_api_reference_lists_every_error_code() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    for code, (status, _) in ERRORS.items():
        assert f"| {status} | `{code}` |" in text, code
