"""A scripted cluster of replicas of one protocol, for transcript tests.

A transcript is a text file of commands (lines starting with `> `), each followed by the output
it produced: every effect of every step it caused, one per line, in order. The test replays the
commands and compares; `pytest --rewrite` writes the new output into the file, so a change of
behaviour is a diff to review. Blank lines and `#` comments between commands are kept.

Commands (node ids are 1-based; NODES is a comma-separated list, default every node):

    cluster N [field=value ...]   N replicas; fields are ReplicaConfig's (timers, sizes), and
                                  protocol=NAME (default multipaxos), quorums=SPEC (as on the
                                  command line) and policy=P (WPaxos' migration policy)
    tick [NODES] [times=K]        K ticks (default 1) of 10 ms each
    deliver                       deliver every message queued now (what they send waits)
    stabilize                     deliver until no message is queued
    propose NODE OP               a client command with op OP at NODE, then a flush; an op
                                  `key=value` is in object `key` (WPaxos), any other in one
                                  object
    read NODE                     a linearizable read at NODE, then a flush
    partition NODES | NODES       cut the groups off from each other (messages are dropped)
    heal                          end every partition
    crash NODE / restart NODE     stop a replica (its queued messages are lost) / rebuild it
                                  from its durable records and latest snapshot
    rebuild NODE                  restart it with an empty disk, rejoining
    compact NODE SLOT [OBJ:S,...]  the node snapshots its state through position SLOT (and,
                                  with a log per object, through slot S of each object OBJ)
    status                        one line per replica

Records are durable the moment they are persisted (the gate is the executor's business, tested
elsewhere), so a crash loses nothing that was persisted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

import msgspec

from pyxos.core.commands import Command
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot
from pyxos.core.io import (
    Compact,
    Deliver,
    DurableRecord,
    Effect,
    Flush,
    Input,
    Note,
    PeerMessage,
    Persist,
    Propose,
    ReadIndexReady,
    Receive,
    RequestReadIndex,
    RestoreSnapshot,
    SaveSnapshot,
    Send,
    Tick,
)
from pyxos.core.protocol import ProtocolSpec, Replica
from pyxos.core.protocols import protocol_spec
from pyxos.core.quorum import MAJORITY, QuorumSpec, parse_quorums
from pyxos.core.snapshot import Snapshot

TICK_MS = 10


def fmt(value: Any) -> str:
    """A compact, stable rendering: ballots as `round.node`, commands as `client.seq:op`."""
    if isinstance(value, Ballot):
        return str(value)
    if isinstance(value, Command):
        return f"{value.client_id}.{value.seq}:{value.op.decode(errors='replace')}"
    if isinstance(value, bytes):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + " ".join(fmt(v) for v in value) + "]"
    if isinstance(value, msgspec.Struct):
        fields = " ".join(f"{f}={fmt(getattr(value, f))}" for f in value.__struct_fields__)
        return f"{type(value).__name__}({fields})"
    return str(value)


@dataclass
class Node:
    replica: Replica | None
    durable: list[DurableRecord] = field(default_factory=list)
    snapshot: Snapshot | None = None


def object_of(op: bytes) -> bytes:
    """`key=value` is in object `key`; any other op in the one object `b""`."""
    key, sep, _ = op.partition(b"=")
    return key if sep else b""


class Cluster:
    def __init__(
        self,
        size: int,
        overrides: dict[str, int],
        *,
        spec: ProtocolSpec,
        quorums: QuorumSpec = MAJORITY,
        options: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.members = tuple(range(1, size + 1))
        self.overrides = overrides
        self.spec = spec
        self.quorum_system = quorums.build(self.members)
        self.options = spec.check_options(options)
        self.nodes = {n: Node(replica=None) for n in self.members}
        for n in self.members:
            self.nodes[n].replica = self._build(n)
        self.queue: deque[tuple[int, int, PeerMessage]] = deque()
        self.groups: list[set[int]] = []
        self.now_ms = 0
        self.ticks = dict.fromkeys(self.members, 0)
        self.clients = 0

    def _build(self, n: int, *, rejoining: bool = False) -> Replica:
        config = ReplicaConfig(
            node_id=n,
            members=self.members,
            quorum=self.quorum_system,
            options=self.options,
            **self.overrides,
        )
        node = self.nodes[n]
        return self.spec.build(
            config,
            Random(n),
            durable=node.durable,
            snapshot=node.snapshot,
            rejoining=rejoining,
            objects=object_of,
        )

    def _connected(self, a: int, b: int) -> bool:
        return all((a in g) == (b in g) for g in self.groups)

    def step(self, n: int, inp: Input, out: list[str]) -> None:
        replica = self.nodes[n].replica
        assert replica is not None
        for effect in replica.step(inp):
            out.append(self._effect(n, effect))

    def _effect(self, n: int, effect: Effect) -> str:
        node = self.nodes[n]
        match effect:
            case Send(to=to, message=message):
                self.queue.append((n, to, message))
                return f"n{n} -> n{to} {fmt(message)}"
            case Persist(records=records, barrier=barrier):
                node.durable.extend(records)
                if not records:
                    return f"n{n} barrier (later effects wait for every record before it)"
                what = "persist" if barrier else "persist (no barrier)"
                return f"n{n} {what} " + " ".join(fmt(r) for r in records)
            case Deliver(slot=slot, batch=batch, object=obj, object_slot=object_slot):
                where = f" object={fmt(obj)} object_slot={object_slot}" if obj else ""
                return f"n{n} deliver slot={slot}{where} {fmt(batch)}"
            case ReadIndexReady(request_ids=ids, index=index):
                return f"n{n} read index ready ids={fmt(ids)} index={index}"
            case RestoreSnapshot(snapshot=snapshot):
                return f"n{n} restore snapshot slot={snapshot.slot} state={fmt(snapshot.state)}"
            case SaveSnapshot(snapshot=snapshot):
                node.snapshot = snapshot
                node.durable = [r for r in node.durable if not self.spec.covers(snapshot, r)]
                cuts = "".join(
                    f" {fmt(c.obj)}:applied={c.applied},kept_from={c.kept_from},"
                    f"promised={c.promised}"
                    for c in snapshot.objects
                )
                return (
                    f"n{n} save snapshot slot={snapshot.slot} promised={snapshot.promised}{cuts}"
                    f" (log keeps {len(node.durable)} records)"
                )
            case Note(kind=kind, detail=detail):
                return f"n{n} note {kind} {detail}".rstrip()
        raise AssertionError(f"unexpected effect {effect!r}")

    # ---- commands ---------------------------------------------------------------------------
    def tick(self, nodes: Iterable[int], times: int, out: list[str]) -> None:
        for _ in range(times):
            self.now_ms += TICK_MS
            for n in nodes:
                if self.nodes[n].replica is not None:
                    self.step(n, Tick(now_ms=self.now_ms), out)

    def deliver(self, out: list[str]) -> None:
        for _ in range(len(self.queue)):
            src, dst, message = self.queue.popleft()
            if self.nodes[dst].replica is None or not self._connected(src, dst):
                out.append(f"n{src} -> n{dst} dropped {type(message).__name__}")
                continue
            self.step(dst, Receive(sender=src, message=message), out)
            self.step(dst, Flush(), out)

    def stabilize(self, out: list[str]) -> None:
        for _ in range(200):
            if not self.queue:
                return
            self.deliver(out)
        raise AssertionError("the cluster did not stabilize in 200 rounds")

    def propose(self, n: int, op: str, out: list[str]) -> None:
        self.clients += 1
        command = Command(client_id=1000 + self.clients, seq=1, op=op.encode())
        self.step(n, Propose(commands=(command,)), out)
        self.step(n, Flush(), out)

    def read(self, n: int, out: list[str]) -> None:
        self.clients += 1
        self.step(n, RequestReadIndex(request_ids=(self.clients,)), out)
        self.step(n, Flush(), out)

    def crash(self, n: int) -> None:
        self.nodes[n].replica = None
        self.queue = deque(m for m in self.queue if m[1] != n)

    def restart(self, n: int, *, rejoining: bool = False) -> None:
        self.nodes[n].replica = self._build(n, rejoining=rejoining)

    def rebuild(self, n: int) -> None:
        self.nodes[n] = Node(replica=None)
        self.restart(n, rejoining=True)

    def compact(
        self, n: int, slot: int, objects: tuple[tuple[bytes, int], ...], out: list[str]
    ) -> None:
        state = f"state@{slot}".encode()
        self.step(n, Compact(slot=slot, state=state, time_ms=0, objects=objects), out)

    def status(self, out: list[str]) -> None:
        for n in self.members:
            replica = self.nodes[n].replica
            if replica is None:
                out.append(f"n{n} down")
                continue
            s = replica.status()
            counters = "".join(f" {k}={v}" for k, v in s.counters.items())
            out.append(
                f"n{n} {s.role} view={s.view} promised={s.promised} leader={s.leader} "
                f"decided={s.decided_upto} delivered={s.delivered_upto}{counters}"
            )


def _nodes(text: str, cluster: Cluster) -> list[int]:
    return [int(t) for t in text.split(",")] if text else list(cluster.members)


def run_command(cluster: Cluster | None, line: str) -> tuple[Cluster, list[str]]:
    words = line.split()
    verb, args = words[0], words[1:]
    out: list[str] = []
    if verb == "cluster":
        fields = dict(a.split("=", 1) for a in args[1:])
        spec = protocol_spec(fields.pop("protocol", "multipaxos"))
        quorums = parse_quorums(fields.pop("quorums", "majority"))
        options = (("policy", fields.pop("policy")),) if "policy" in fields else ()
        overrides = {k: int(v) for k, v in fields.items()}
        return Cluster(int(args[0]), overrides, spec=spec, quorums=quorums, options=options), out
    assert cluster is not None, "the first command must be `cluster`"
    keyed = dict(a.split("=", 1) for a in args if "=" in a)
    plain = [a for a in args if "=" not in a]
    match verb:
        case "tick":
            nodes = _nodes(plain[0] if plain else "", cluster)
            cluster.tick(nodes, int(keyed.get("times", 1)), out)
        case "deliver":
            cluster.deliver(out)
        case "stabilize":
            cluster.stabilize(out)
        case "propose":
            cluster.propose(int(args[0]), args[1], out)
        case "read":
            cluster.read(int(plain[0]), out)
        case "partition":
            left, _, right = " ".join(plain).partition("|")
            cluster.groups = [
                set(_nodes(left.strip(), cluster)),
                set(_nodes(right.strip(), cluster)),
            ]
        case "heal":
            cluster.groups = []
        case "crash":
            cluster.crash(int(plain[0]))
        case "restart":
            cluster.restart(int(plain[0]))
        case "rebuild":
            cluster.rebuild(int(plain[0]))
        case "compact":
            cuts = (
                tuple(
                    (obj.encode(), int(upto))
                    for obj, _, upto in (c.partition(":") for c in args[2].split(","))
                )
                if len(args) > 2
                else ()
            )
            cluster.compact(int(args[0]), int(args[1]), cuts, out)
        case "status":
            cluster.status(out)
        case _:
            raise AssertionError(f"unknown command {line!r}")
    return cluster, out


def replay(path: Path) -> tuple[str, str]:
    """(the file as it is, the file with every command's output as it is produced now)."""
    expected = path.read_text()
    lines = expected.splitlines()
    rendered: list[str] = []
    cluster: Cluster | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.startswith("> "):
            rendered.append(line)  # a comment or a blank line before the first command
            continue
        rendered.append(line)
        cluster, out = run_command(cluster, line[2:])
        rendered.extend(out)
        # Skip the recorded output: everything up to a blank line, a comment or a command.
        while index < len(lines) and lines[index] and not lines[index].startswith(("> ", "#")):
            index += 1
    return expected, "\n".join(rendered) + "\n"
