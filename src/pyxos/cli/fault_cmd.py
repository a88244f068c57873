"""`pyxos fault ...`: inject faults into the nodes of a running cluster, list them, heal them.

    pyxos fault crash     --node N --duration S               stop talking and serving
    pyxos fault drop      --node N --to M[,M] --duration S    drop N's messages to M
    pyxos fault slow      --node N --to M --delay-ms D --duration S
    pyxos fault flaky     --node N --to M --p P --duration S  drop each with probability P
    pyxos fault partition --isolate N[,N] --duration S        cut these nodes off the others
    pyxos fault heal      [--node N]                          end every fault (all nodes)
    pyxos fault list      [--node N]                          the active faults (all nodes)

`--node` is a node's HTTP address (`host:port`) or its id among the members of the cluster,
found as every command finds it (`pyxos.cli.cluster_args`). Each node's answer is one line;
`-o json` prints `{"nodes": [{"node", "http", "ok", "code", "answer" or "error"}]}`. The
cluster must run with fault injection on (`pyxos up --fault-injection`, or
`fault_injection = true` in its cluster file). Each node is
told through `/v1/admin/faults`; a kill -9, a pause or a crash loop needs the process itself:
see `pyxos chaos` (docs/chaos.md).

Exit status: 0 done on every node; 1 a node refused or did not answer; 2 usage; 3 the cluster
cannot be found.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from pyxos.cli.cluster_args import cluster_target
from pyxos.cli.kv_cmd import add_cluster_arguments
from pyxos.cli.output import add_output_argument, print_json
from pyxos.client import PyxosError
from pyxos.client.admin import Member, find_members
from pyxos.runtime.config import HostPort, parse_host_port

FAULTS_PATH = "/v1/admin/faults"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
REQUEST_TIMEOUT_S = 5.0


EPILOG = (
    "exit status: 0 done on every node; 1 a node refused or did not answer; 2 usage error; "
    "3 the cluster cannot be found"
)


class UsageError(Exception):
    pass


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "fault",
        help="inject faults into a running cluster (crash, drop, slow, flaky, partition, heal)",
        description="Inject, list and heal faults on nodes started with fault injection on.",
    )
    kinds = parser.add_subparsers(dest="fault_command", metavar="KIND", required=True)

    def add(name: str, help_text: str, *, node_required: bool, duration: bool) -> Any:
        p = kinds.add_parser(name, help=help_text, description=help_text, epilog=EPILOG)
        add_cluster_arguments(p)
        add_output_argument(p)
        p.add_argument(
            "--node",
            action="append",
            required=node_required,
            metavar="ID|HOST:PORT",
            help="a node's id, or its HTTP address (repeatable)"
            + ("" if node_required else "; default: every member"),
        )
        if duration:
            p.add_argument(
                "--duration", type=float, required=True, metavar="SECONDS", help="how long"
            )
        p.set_defaults(func=run, fault=name)
        return p

    add(
        "crash",
        "stop the node talking to its peers and serving clients",
        node_required=True,
        duration=True,
    )
    for name, text in (
        ("drop", "drop the node's messages to other nodes"),
        ("slow", "delay the node's messages to other nodes"),
        ("flaky", "drop each of the node's messages to other nodes with a probability"),
    ):
        p = add(name, text, node_required=True, duration=True)
        p.add_argument("--to", required=True, metavar="ID[,ID]", help="the peers")
        if name == "slow":
            p.add_argument("--delay-ms", type=int, required=True, help="the delay in ms")
        if name == "flaky":
            p.add_argument("--p", type=float, required=True, help="drop probability, 0 < p <= 1")
    p = add("partition", "cut a set of nodes off the others", node_required=False, duration=True)
    p.add_argument("--isolate", required=True, metavar="ID[,ID]", help="the nodes cut off")
    add("heal", "end every fault now", node_required=False, duration=False)
    add("list", "list the active faults", node_required=False, duration=False)


def _ids(text: str) -> list[int]:
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"{text!r} is not a comma-separated list of node ids") from None
    if not ids:
        raise UsageError("give at least one node id")
    return ids


def _members(args: argparse.Namespace) -> list[Member]:
    target = cluster_target(args)
    return find_members(config=target.config, endpoints=target.endpoints, timeout_s=args.timeout)


def _targets(args: argparse.Namespace) -> list[tuple[str, HostPort]]:
    """`(label, HTTP address)` of the nodes the command is for."""
    if args.node and all(not n.isdigit() for n in args.node):
        try:
            return [(n, parse_host_port(n.removeprefix("http://"))) for n in args.node]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    members = {m.node: m for m in _members(args)}
    if not args.node:
        return [(f"node {k}", m.http) for k, m in sorted(members.items())]
    targets = []
    for n in args.node:
        if n.isdigit():
            if int(n) not in members:
                raise UsageError(f"no node {n} (members: {sorted(members)})")
            targets.append((f"node {n}", members[int(n)].http))
        else:
            targets.append((n, parse_host_port(n.removeprefix("http://"))))
    return targets


def call_faults(address: HostPort, method: str, body: dict[str, Any] | None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://{address}{FAULTS_PATH}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except urllib.error.URLError as exc:
        raise OSError(getattr(exc.reason, "strerror", None) or str(exc.reason)) from None


def _bodies(args: argparse.Namespace) -> list[tuple[str, HostPort, dict[str, Any] | None]]:
    """What to send to whom: `(label, address, body)`; body None for heal and list."""
    kind = args.fault
    if kind == "partition":
        members = {m.node: m for m in _members(args)}
        return list(partition_sends(members, set(_ids(args.isolate)), args.duration))
    if kind in ("heal", "list"):
        return [(label, address, None) for label, address in _targets(args)]
    body: dict[str, Any] = {"kind": kind, "duration_s": args.duration}
    if kind != "crash":
        body["peers"] = _ids(args.to)
    if kind == "slow":
        body["delay_ms"] = args.delay_ms
    if kind == "flaky":
        body["p"] = args.p
    return [(label, address, body) for label, address in _targets(args)]


def partition_sends(
    members: dict[int, Member], isolated: set[int], duration_s: float
) -> list[tuple[str, HostPort, dict[str, Any] | None]]:
    """The fault each member is told to cut `isolated` off the others: every node drops its
    messages to and from the other side. `UsageError` unless `isolated` is some but not all
    of the members."""
    if isolated - set(members) or isolated == set(members) or not isolated:
        raise UsageError(
            f"the isolated nodes must be some but not all of the members {sorted(members)}"
        )
    sends: list[tuple[str, HostPort, dict[str, Any] | None]] = []
    for k, member in sorted(members.items()):
        side = isolated if k not in isolated else set(members) - isolated
        cut = {"kind": "partition", "peers": sorted(side), "duration_s": duration_s}
        sends.append((f"node {k}", member.http, cut))
    return sends


def _describe(fault: dict[str, Any]) -> str:
    text = str(fault.get("kind"))
    if fault.get("peers"):
        text += (
            f" to/from {fault['peers']}"
            if fault["kind"] == "partition"
            else f" to {fault['peers']}"
        )
    if "delay_ms" in fault:
        text += f" by {fault['delay_ms']} ms"
    if "p" in fault:
        text += f" with p={fault['p']}"
    return text + f", {fault.get('remaining_s')} s left"


def run(args: argparse.Namespace) -> int:
    name = f"pyxos fault {args.fault}"
    try:
        sends = _bodies(args)
    except UsageError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PyxosError as exc:
        print(f"{name}: error: cannot find the cluster: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except ValueError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    status = EXIT_OK
    results: list[dict[str, Any]] = []
    for label, address, body in sends:
        method = {"heal": "DELETE", "list": "GET"}.get(args.fault, "POST")
        result: dict[str, Any] = {"node": label, "http": str(address)}
        results.append(result)
        try:
            code, answer = call_faults(address, method, body)
        except (OSError, ValueError) as exc:
            result.update(ok=False, code=None, error=str(exc))
            if args.output != "json":
                print(f"{label} ({address}): no answer: {exc}")
            status = EXIT_FAILED
            continue
        result.update(ok=code == 200, code=code, answer=answer)
        if code != 200:
            status = EXIT_FAILED
        if args.output == "json":
            continue
        if code != 200:
            message = answer.get("message", answer) if isinstance(answer, dict) else answer
            if isinstance(answer, dict) and answer.get("code") == "fault_injection_disabled":
                message = "fault injection is off (start with pyxos up --fault-injection)"
            print(f"{label} ({address}): refused ({code}): {message}")
        elif args.fault == "list":
            faults = answer.get("faults", [])
            shown = "; ".join(_describe(f) for f in faults) if faults else "no faults"
            print(f"{label} ({address}): {shown}")
        elif args.fault == "heal":
            print(f"{label} ({address}): healed {answer.get('healed', 0)} faults")
        else:
            print(f"{label} ({address}): {_describe(answer['fault'])}")
    if args.output == "json":
        print_json({"nodes": results})
    return status


def main(argv: Sequence[str] | None = None) -> int:
    from pyxos.cli.main import main as pyxos_main

    return pyxos_main(["fault", *(argv or sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
