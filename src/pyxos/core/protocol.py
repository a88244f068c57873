"""The protocol contract: what the node, the drivers, the service and the checkers may know of a
protocol, and nothing more.

Theory of operation. A protocol is a package under `pyxos.core` (`multipaxos/`, ...) that
exports one `ProtocolSpec`. The spec names the protocol and its version (both travel in every
peer envelope and are written beside the log, so two protocols, or two incompatible versions of
one, never exchange a message or read each other's records), declares its message and record
types (the codecs are built from them), builds replicas, and answers the few questions that the
layers above need about its records:

- `covers(snapshot, record)`: may the log drop `record` once `snapshot` is durable?
- `extent(records)`: a summary of what some records are about (an `Extent`: for one log, the
  highest slot and the highest promise; for logs per object, those per object), which merges
  with another and says whether a snapshot covers every record it summarises, so that the log
  can tell whether a whole segment is covered without keeping it (one call per segment: it
  runs over every record at every restart).
- `fact(record)`: what a durable record means to the safety checkers (a promise, an acceptance
  of a value in an instance at a ballot, a decided value), so the simulator's checkers and the
  log inspector judge every protocol by the same rules without knowing its record types.

A replica is driven only through `step(input) -> effects` (`pyxos.core.io`). Which commands are
ready to execute, and in what order, it says with `Deliver(slot, batch)` effects: positions run
1, 2, 3, ... on each replica. `order` says what positions mean across replicas: `TOTAL` (every
replica delivers the same batch at the same position: one log, as in Multi-Paxos) or
`PER_OBJECT` (replicas agree on the order of commands that touch the same object, and may
interleave others differently: the answer for per-object logs and dependency graphs). Besides
`step`, a replica offers a few read-only properties and a typed `status()`; nothing outside its
package touches its internals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from random import Random
from typing import Any, Protocol

from pyxos.core.commands import Batch
from pyxos.core.config import ReplicaConfig
from pyxos.core.ids import Ballot, NodeId, Slot
from pyxos.core.io import DurableRecord, Effect, Input
from pyxos.core.snapshot import Snapshot


class ExecutionOrder(Enum):
    """What a position in `Deliver` means across replicas."""

    TOTAL = "total"
    PER_OBJECT = "per_object"


ROLE_LEADER = "leader"
ROLE_CANDIDATE = "candidate"  # running phase 1, not yet leading
ROLE_FOLLOWER = "follower"
ROLE_REJOINING = "rejoining"  # rebuilt after losing its disk: follows, but does not vote yet


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolStatus:
    """A replica's view of itself, for status pages, metrics and tests.

    `leader` is the node this replica follows (itself when it leads), or None while it knows of
    no established leader. `decided_upto` is the contiguous prefix of positions it knows are
    decided, `delivered_upto` the positions it handed to the node. `lag`, on a leader, is how
    many positions each peer's decided prefix is behind its own (as of the peer's last answer)."""

    protocol: str
    role: str
    leader: NodeId | None
    view: int
    promised: Ballot
    decided_upto: Slot
    delivered_upto: Slot
    lag: Mapping[NodeId, int] = field(default_factory=dict)
    counters: Mapping[str, int] = field(default_factory=dict)
    """The protocol's own counters (WPaxos: objects owned, steals, forwards, handovers)."""


class Replica(Protocol):
    """One replica of a protocol. Drive it with `step`; it never does I/O."""

    @property
    def node_id(self) -> NodeId: ...

    @property
    def is_leader(self) -> bool:
        """True while this replica may propose and stamp time (a leader of some view)."""
        ...

    @property
    def promised(self) -> Ballot:
        """The highest ballot this replica has promised (monotone, also across restarts)."""
        ...

    @property
    def log_time_ms(self) -> int:
        """The time a command proposed now would be stamped with (see `core/clock.py`)."""
        ...

    def leads(self, obj: bytes) -> bool:
        """True while this replica may propose `obj`'s commands itself and stamp their time
        (Multi-Paxos: while it leads; a per-object protocol: while it owns `obj`)."""
        ...

    def step(self, inp: Input) -> list[Effect]: ...

    def status(self) -> ProtocolStatus: ...


ObjectOf = Callable[[bytes], bytes]
"""The object a command's op touches (a key, or one name for a group of things that must stay
in one order); a protocol with `PER_OBJECT` order orders each object's commands on its own."""


class ReplicaFactory(Protocol):
    """Builds a replica from what survived on its disk.

    `rejoining` is True for a replica rebuilt empty after losing its disk (it must not vote
    until that is safe); `log_time_ms` is the log time of the node's restored state;
    `objects` tells a per-object protocol what each command touches (None: one object)."""

    def __call__(
        self,
        config: ReplicaConfig,
        rng: Random,
        *,
        durable: Sequence[DurableRecord] = (),
        snapshot: Snapshot | None = None,
        rejoining: bool = False,
        log_time_ms: int = 0,
        objects: ObjectOf | None = None,
    ) -> Replica: ...


# ---- what durable records mean, for checkers and inspectors ---------------------------------
Instance = tuple[bytes, Slot]
"""One consensus instance: a slot of an object's log (the object is `b""` for a protocol with
one log)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PromiseFact:
    """The acceptor promised `ballot` (for `object`: every object when it is `None`)."""

    ballot: Ballot
    object: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptFact:
    """The acceptor accepted `batch` in `instance` at `ballot` (also a promise of `ballot`)."""

    instance: Instance
    ballot: Ballot
    batch: Batch


@dataclass(frozen=True, slots=True, kw_only=True)
class DecideFact:
    """The replica learned that `batch` was chosen in `instance`."""

    instance: Instance
    batch: Batch


Fact = PromiseFact | AcceptFact | DecideFact


class Extent(Protocol):
    """What some durable records are about, as far as `ProtocolSpec.covers` cares."""

    def merge(self, other: Extent) -> Extent:
        """The extent of both sets of records (`other` is of the same protocol)."""
        ...

    def covered_by(self, snapshot: Snapshot) -> bool:
        """True if `snapshot` covers every record summarised."""
        ...


@dataclass(frozen=True, slots=True)
class CoverageCounter:
    """A path every healthy simulator sweep must take in some seeds: a run counts as covering
    it when nodes noted `note` (a `Note` kind) at least `at_least` times, counting only notes
    of nodes that had restarted when `after_restart`."""

    name: str
    note: str
    at_least: int = 1
    after_restart: bool = False


def _any_value(name: str, value: str) -> None:
    del name, value


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolSpec:
    """Everything the layers above a protocol may know of it."""

    name: str
    version: int
    summary: str
    order: ExecutionOrder
    message_type: Any
    """The union of the protocol's peer message structs (what the peer codec decodes)."""
    record_type: Any
    """The union of the protocol's durable record structs (what the log codec decodes)."""
    record_classes: tuple[type[DurableRecord], ...]
    build: ReplicaFactory
    covers: Callable[[Snapshot, DurableRecord], bool]
    extent: Callable[[Iterable[DurableRecord]], Extent]
    """What some records are about (see `Extent`)."""
    fact: Callable[[DurableRecord], Fact | None]
    reads_through_log: bool = False
    """Linearizable reads go through the log as commands (True), or use a read index
    (`RequestReadIndex`) as Multi-Paxos does."""
    options: Mapping[str, str] = field(default_factory=dict)
    """The settings the protocol reads from `ReplicaConfig.options`: name -> what it means."""
    check_option: Callable[[str, str], None] = _any_value
    """Raises `ValueError` naming the problem when a known option's value is not valid."""
    coverage: tuple[CoverageCounter, ...] = ()
    """What the simulator's sweeps must see the protocol do (its hard paths), in report order."""

    def check_options(self, options: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """`options` as a sorted tuple, or `ValueError` for a name the protocol does not read
        or a value it cannot use."""
        checked: dict[str, str] = {}
        for name, value in options:
            if name not in self.options:
                known = ", ".join(sorted(self.options)) or "none"
                raise ValueError(f"{self.name} has no option {name!r} (its options: {known})")
            if name in checked:
                raise ValueError(f"option {name!r} given twice")
            self.check_option(name, value)
            checked[name] = value
        return tuple(sorted(checked.items()))

    @property
    def wire_name(self) -> str:
        """`name/version`, as it travels in peer envelopes and is written beside the log."""
        return f"{self.name}/{self.version}"
