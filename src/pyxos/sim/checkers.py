"""Safety checkers that run beside the simulation.

Each checker sees a stream of facts the runner feeds it as they happen, and appends a
human-readable string to `violations` for every broken rule, naming the node, the slot, the
ballot and the virtual time. Durable records reach them as the protocol's `Fact`s (a promise,
an acceptance, a decided value: `pyxos.core.protocol`), so every protocol is judged by the same
rules:

- `ChosenValues`: at most one value is chosen per slot. A value is chosen at `(slot, ballot)`
  once acceptors forming a phase-2 quorum have *durably* accepted it (records are fed when
  their sync completes). Two values accepted at one `(slot, ballot)`, a second value chosen in
  a slot, and a decided record for a value that is not (yet) chosen are violations.
- `AppliedPrefixes`: every node applies slots 1, 2, 3, ... without gaps in each incarnation
  (a restarted node replays from slot 1), every application of a slot agrees with every other
  one, and only chosen values are applied.
- `MonotoneBallots`: per node, durable promises never go down (an accept at `b` is a promise of
  `b`), per slot the durable accepted ballot never goes down, and a restarted node's in-memory
  promise is at least its highest durable one.
- `acked_writes_violations`: at the end, every write a client saw acknowledged is in the
  applied log of every node.

The history's linearizability and liveness are checked by the runner (`pyxos.check` does the
search).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pyxos.core.commands import Batch
from pyxos.core.ids import BALLOT_ZERO, Ballot, NodeId, Slot
from pyxos.core.protocol import AcceptFact, DecideFact, Fact, Instance, PromiseFact
from pyxos.core.quorum import QuorumSystem


def format_batch(batch: Batch) -> str:
    """A batch as its commands' `client.seq` ids, e.g. `[1001.3 1002.7]` (`[]` is the NOOP)."""
    return "[" + " ".join(f"{c.client_id}.{c.seq}" for c in batch) + "]"


def _where(instance: Instance) -> str:
    """`slot 7`, or `object 'k' slot 7` for a protocol with a log per object."""
    obj, slot = instance
    return f"slot {slot}" if not obj else f"object {obj!r} slot {slot}"


class ChosenValues:
    """Rule 1: at most one value chosen per instance (a slot of an object's log), from durable
    accepts."""

    __slots__ = ("_chosen_at", "_quorums", "_votes", "chosen", "upto", "violations")

    def __init__(self, quorums: QuorumSystem) -> None:
        self._quorums = quorums
        # (instance, ballot) -> (the value, the acceptors that durably accepted it, in order)
        self._votes: dict[tuple[Instance, Ballot], tuple[Batch, list[NodeId]]] = {}
        self._chosen_at: dict[Instance, Ballot] = {}
        self.chosen: dict[Instance, Batch] = {}
        self.upto: dict[bytes, Slot] = {}  # per object: the highest slot with a chosen value
        self.violations: list[str] = []

    def on_durable(self, node: NodeId, fact: Fact | None, now_us: int) -> None:
        """A record of `node` meaning `fact` just became durable."""
        if type(fact) is AcceptFact:
            self._on_accepted(node, fact, now_us)
        elif type(fact) is DecideFact:
            chosen = self.chosen.get(fact.instance)
            if chosen is None:
                self.violations.append(
                    f"t={now_us}us node {node} {_where(fact.instance)}: decided "
                    f"{format_batch(fact.batch)} before any value was chosen"
                )
            elif chosen != fact.batch:
                self.violations.append(
                    f"t={now_us}us node {node} {_where(fact.instance)}: decided "
                    f"{format_batch(fact.batch)} but {format_batch(chosen)} was chosen"
                )

    def _on_accepted(self, node: NodeId, fact: AcceptFact, now_us: int) -> None:
        instance, ballot, batch = fact.instance, fact.ballot, fact.batch
        key = (instance, ballot)
        vote = self._votes.get(key)
        if vote is None:
            vote = (batch, [node])
            self._votes[key] = vote
        else:
            if vote[0] != batch:
                self.violations.append(
                    f"t={now_us}us node {node} {_where(instance)} ballot {ballot}: accepted "
                    f"{format_batch(batch)} but nodes {vote[1]} accepted "
                    f"{format_batch(vote[0])} at the same ballot"
                )
                return
            if node in vote[1]:
                return
            vote[1].append(node)
        if not self._quorums.is_q2(vote[1]):
            return
        chosen = self.chosen.get(instance)
        if chosen is None:
            self.chosen[instance] = batch
            self._chosen_at[instance] = ballot
            obj, slot = instance
            if slot > self.upto.get(obj, 0):
                self.upto[obj] = slot
        elif chosen != batch:
            self.violations.append(
                f"t={now_us}us {_where(instance)}: {format_batch(batch)} chosen at ballot "
                f"{ballot} (acceptors {sorted(vote[1])}) but {format_batch(chosen)} was chosen "
                f"at ballot {self._chosen_at[instance]}"
            )

    @property
    def max_chosen_slot(self) -> Slot:
        """The highest chosen slot of the one log (a protocol with a total order)."""
        return self.upto.get(b"", 0)


class AppliedPrefixes:
    """Rule 2: applied prefixes agree, in order, without gaps, and hold only chosen values; per
    object's log for a protocol with a log per object."""

    __slots__ = ("_chosen", "_next", "log", "violations")

    def __init__(self, chosen: ChosenValues) -> None:
        self._chosen = chosen
        # node -> object -> the next slot it must apply
        self._next: dict[NodeId, dict[bytes, Slot]] = {}
        self.log: dict[Instance, Batch] = {}
        self.violations: list[str] = []

    def on_start(self, node: NodeId) -> None:
        """A new incarnation of `node` starts: it applies every log from slot 1 again."""
        self._next[node] = {}

    def on_restored(self, node: NodeId, slot: Slot, obj: bytes = b"") -> None:
        """`node` replaced its state with a snapshot at `slot` of `obj`'s log: it applies from
        `slot + 1`."""
        nexts = self._next.setdefault(node, {})
        nexts[obj] = max(nexts.get(obj, 1), slot + 1)

    def on_applied(
        self, node: NodeId, slot: Slot, batch: Batch, now_us: int, obj: bytes = b""
    ) -> None:
        nexts = self._next.setdefault(node, {})
        expected = nexts.get(obj, 1)
        instance = (obj, slot)
        if slot != expected:
            self.violations.append(
                f"t={now_us}us node {node}: applied {_where(instance)} but the next slot in "
                f"order is {expected}"
            )
        nexts[obj] = slot + 1
        prior = self.log.get(instance)
        if prior is None:
            self.log[instance] = batch
        elif prior != batch:
            self.violations.append(
                f"t={now_us}us node {node} {_where(instance)}: applied {format_batch(batch)} "
                f"but {format_batch(prior)} was applied there before"
            )
        chosen = self._chosen.chosen.get(instance)
        if chosen is None:
            self.violations.append(
                f"t={now_us}us node {node} {_where(instance)}: applied {format_batch(batch)} "
                f"before any value was chosen"
            )
        elif chosen != batch:
            self.violations.append(
                f"t={now_us}us node {node} {_where(instance)}: applied {format_batch(batch)} "
                f"but {format_batch(chosen)} was chosen"
            )

    def applied_upto(self, node: NodeId, obj: bytes = b"") -> Slot:
        """The last slot of `obj`'s log the current incarnation of `node` applied (0 = none)."""
        return self._next.get(node, {}).get(obj, 1) - 1

    def total_log(self) -> dict[Slot, Batch]:
        """The one log's applied batches by slot (a protocol with a total order)."""
        return {slot: batch for (obj, slot), batch in self.log.items() if not obj}


class MonotoneBallots:
    """Rule 3: promised and accepted ballots never decrease, across restarts too (per object's
    log for a protocol with one; a promise of every object counts for the one log)."""

    __slots__ = ("_accepted", "_promised", "violations")

    def __init__(self) -> None:
        self._promised: dict[tuple[NodeId, bytes], Ballot] = {}
        self._accepted: dict[tuple[NodeId, Instance], Ballot] = {}
        self.violations: list[str] = []

    def on_durable(self, node: NodeId, fact: Fact | None, now_us: int) -> None:
        """A record of `node` meaning `fact` just became durable."""
        if type(fact) is PromiseFact:
            key = (node, fact.object or b"")
            highest = self._promised.get(key, BALLOT_ZERO)
            if fact.ballot < highest:
                self.violations.append(
                    f"t={now_us}us node {node}: durable promise {fact.ballot}{_of(key[1])} is "
                    f"below its earlier durable promise {highest}"
                )
            else:
                self._promised[key] = fact.ballot
        elif type(fact) is AcceptFact:
            instance, ballot = fact.instance, fact.ballot
            key = (node, instance[0])
            highest = self._promised.get(key, BALLOT_ZERO)
            if ballot < highest:
                self.violations.append(
                    f"t={now_us}us node {node} {_where(instance)}: durably accepted at ballot "
                    f"{ballot}, below its durable promise {highest}"
                )
            else:
                self._promised[key] = ballot
            before = self._accepted.get((node, instance))
            if before is not None and ballot < before:
                self.violations.append(
                    f"t={now_us}us node {node} {_where(instance)}: durably accepted at ballot "
                    f"{ballot} after accepting at {before}"
                )
            else:
                self._accepted[(node, instance)] = ballot

    def on_rebuild(self, node: NodeId) -> None:
        """`node` was wiped and rebuilt: what it made durable before is gone on purpose."""
        for key in [key for key in self._promised if key[0] == node]:
            del self._promised[key]
        for instance in [key for key in self._accepted if key[0] == node]:
            del self._accepted[instance]

    def on_restart(self, node: NodeId, promised: Ballot, now_us: int) -> None:
        """A restarted node reports its in-memory promise (its highest, over every object)."""
        durable = [b for (n, _), b in self._promised.items() if n == node]
        highest = max(durable, default=BALLOT_ZERO)
        if promised < highest:
            self.violations.append(
                f"t={now_us}us node {node}: restarted with promise {promised}, below its "
                f"durable promise {highest}"
            )


def _of(obj: bytes) -> str:
    return f" of object {obj!r}" if obj else ""


def acked_writes_violations(
    acked: Iterable[tuple[int, int, int]],
    log: Mapping[Instance, Batch],
    applied_upto: Mapping[NodeId, Mapping[bytes, Slot]],
) -> list[str]:
    """Rule 4: every acknowledged write `(client_id, seq, ack time us)` is applied everywhere.

    `log` is the agreed applied log (by instance), `applied_upto` each node's final applied
    prefix of each object's log.
    """
    first: dict[tuple[int, int], Instance] = {}
    for instance in sorted(log):
        for command in log[instance]:
            first.setdefault((command.client_id, command.seq), instance)
    violations = []
    for client_id, seq, acked_us in acked:
        found = first.get((client_id, seq))
        if found is None:
            violations.append(
                f"write {client_id}.{seq} acknowledged at t={acked_us}us is in no applied log"
            )
            continue
        obj, slot = found
        missing = [node for node, upto in sorted(applied_upto.items()) if upto.get(obj, 0) < slot]
        if missing:
            violations.append(
                f"write {client_id}.{seq} acknowledged at t={acked_us}us ({_where(found)}) is "
                f"missing from the applied log of nodes {missing}"
            )
    return violations
