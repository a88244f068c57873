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
from pyxos.core.protocol import AcceptFact, DecideFact, Fact, PromiseFact
from pyxos.core.quorum import QuorumSystem


def format_batch(batch: Batch) -> str:
    """A batch as its commands' `client.seq` ids, e.g. `[1001.3 1002.7]` (`[]` is the NOOP)."""
    return "[" + " ".join(f"{c.client_id}.{c.seq}" for c in batch) + "]"


class ChosenValues:
    """Rule 1: at most one value chosen per slot, from durable accepts."""

    __slots__ = ("_chosen_at", "_quorums", "_votes", "chosen", "violations")

    def __init__(self, quorums: QuorumSystem) -> None:
        self._quorums = quorums
        # (slot, ballot) -> (the value, the acceptors that durably accepted it, in order)
        self._votes: dict[tuple[Slot, Ballot], tuple[Batch, list[NodeId]]] = {}
        self._chosen_at: dict[Slot, Ballot] = {}
        self.chosen: dict[Slot, Batch] = {}
        self.violations: list[str] = []

    def on_durable(self, node: NodeId, fact: Fact | None, now_us: int) -> None:
        """A record of `node` meaning `fact` just became durable."""
        if type(fact) is AcceptFact:
            self._on_accepted(node, fact, now_us)
        elif type(fact) is DecideFact:
            chosen = self.chosen.get(fact.instance)
            if chosen is None:
                self.violations.append(
                    f"t={now_us}us node {node} slot {fact.instance}: decided "
                    f"{format_batch(fact.batch)} before any value was chosen"
                )
            elif chosen != fact.batch:
                self.violations.append(
                    f"t={now_us}us node {node} slot {fact.instance}: decided "
                    f"{format_batch(fact.batch)} but {format_batch(chosen)} was chosen"
                )

    def _on_accepted(self, node: NodeId, fact: AcceptFact, now_us: int) -> None:
        slot, ballot, batch = fact.instance, fact.ballot, fact.batch
        key = (slot, ballot)
        vote = self._votes.get(key)
        if vote is None:
            vote = (batch, [node])
            self._votes[key] = vote
        else:
            if vote[0] != batch:
                self.violations.append(
                    f"t={now_us}us node {node} slot {slot} ballot {ballot}: accepted "
                    f"{format_batch(batch)} but nodes {vote[1]} accepted "
                    f"{format_batch(vote[0])} at the same ballot"
                )
                return
            if node in vote[1]:
                return
            vote[1].append(node)
        if not self._quorums.is_q2(vote[1]):
            return
        chosen = self.chosen.get(slot)
        if chosen is None:
            self.chosen[slot] = batch
            self._chosen_at[slot] = ballot
        elif chosen != batch:
            self.violations.append(
                f"t={now_us}us slot {slot}: {format_batch(batch)} chosen at ballot {ballot} "
                f"(acceptors {sorted(vote[1])}) but {format_batch(chosen)} was chosen at "
                f"ballot {self._chosen_at[slot]}"
            )

    @property
    def max_chosen_slot(self) -> Slot:
        return max(self.chosen, default=0)


class AppliedPrefixes:
    """Rule 2: applied prefixes agree, in order, without gaps, and hold only chosen values."""

    __slots__ = ("_chosen", "_next", "log", "violations")

    def __init__(self, chosen: ChosenValues) -> None:
        self._chosen = chosen
        self._next: dict[NodeId, Slot] = {}
        self.log: dict[Slot, Batch] = {}
        self.violations: list[str] = []

    def on_start(self, node: NodeId) -> None:
        """A new incarnation of `node` starts: it applies from slot 1 again."""
        self._next[node] = 1

    def on_restored(self, node: NodeId, slot: Slot) -> None:
        """`node` replaced its state with a snapshot at `slot`: it applies from `slot + 1`."""
        self._next[node] = max(self._next.get(node, 1), slot + 1)

    def on_applied(self, node: NodeId, slot: Slot, batch: Batch, now_us: int) -> None:
        expected = self._next.get(node, 1)
        if slot != expected:
            self.violations.append(
                f"t={now_us}us node {node}: applied slot {slot} but the next slot in order "
                f"is {expected}"
            )
        self._next[node] = slot + 1
        prior = self.log.get(slot)
        if prior is None:
            self.log[slot] = batch
        elif prior != batch:
            self.violations.append(
                f"t={now_us}us node {node} slot {slot}: applied {format_batch(batch)} but "
                f"{format_batch(prior)} was applied there before"
            )
        chosen = self._chosen.chosen.get(slot)
        if chosen is None:
            self.violations.append(
                f"t={now_us}us node {node} slot {slot}: applied {format_batch(batch)} "
                f"before any value was chosen"
            )
        elif chosen != batch:
            self.violations.append(
                f"t={now_us}us node {node} slot {slot}: applied {format_batch(batch)} but "
                f"{format_batch(chosen)} was chosen"
            )

    def applied_upto(self, node: NodeId) -> Slot:
        """The last slot the current incarnation of `node` applied (0 = none)."""
        return self._next.get(node, 1) - 1


class MonotoneBallots:
    """Rule 3: promised and accepted ballots never decrease, across restarts too."""

    __slots__ = ("_accepted", "_promised", "violations")

    def __init__(self) -> None:
        self._promised: dict[NodeId, Ballot] = {}
        self._accepted: dict[tuple[NodeId, Slot], Ballot] = {}
        self.violations: list[str] = []

    def on_durable(self, node: NodeId, fact: Fact | None, now_us: int) -> None:
        """A record of `node` meaning `fact` just became durable."""
        if type(fact) is PromiseFact:
            highest = self._promised.get(node, BALLOT_ZERO)
            if fact.ballot < highest:
                self.violations.append(
                    f"t={now_us}us node {node}: durable promise {fact.ballot} is below "
                    f"its earlier durable promise {highest}"
                )
            else:
                self._promised[node] = fact.ballot
        elif type(fact) is AcceptFact:
            slot, ballot = fact.instance, fact.ballot
            highest = self._promised.get(node, BALLOT_ZERO)
            if ballot < highest:
                self.violations.append(
                    f"t={now_us}us node {node} slot {slot}: durably accepted at ballot "
                    f"{ballot}, below its durable promise {highest}"
                )
            else:
                self._promised[node] = ballot
            before = self._accepted.get((node, slot))
            if before is not None and ballot < before:
                self.violations.append(
                    f"t={now_us}us node {node} slot {slot}: durably accepted at ballot "
                    f"{ballot} after accepting at {before}"
                )
            else:
                self._accepted[(node, slot)] = ballot

    def on_rebuild(self, node: NodeId) -> None:
        """`node` was wiped and rebuilt: what it made durable before is gone on purpose."""
        self._promised.pop(node, None)
        for key in [key for key in self._accepted if key[0] == node]:
            del self._accepted[key]

    def on_restart(self, node: NodeId, promised: Ballot, now_us: int) -> None:
        """A restarted node reports its in-memory promise."""
        highest = self._promised.get(node, BALLOT_ZERO)
        if promised < highest:
            self.violations.append(
                f"t={now_us}us node {node}: restarted with promise {promised}, below its "
                f"durable promise {highest}"
            )


def acked_writes_violations(
    acked: Iterable[tuple[int, int, int]],
    log: Mapping[Slot, Batch],
    applied_upto: Mapping[NodeId, Slot],
) -> list[str]:
    """Rule 4: every acknowledged write `(client_id, seq, ack time us)` is applied everywhere.

    `log` is the agreed applied log, `applied_upto` each node's final applied prefix.
    """
    first_slot: dict[tuple[int, int], Slot] = {}
    for slot in sorted(log):
        for command in log[slot]:
            first_slot.setdefault((command.client_id, command.seq), slot)
    violations = []
    for client_id, seq, acked_us in acked:
        found = first_slot.get((client_id, seq))
        if found is None:
            violations.append(
                f"write {client_id}.{seq} acknowledged at t={acked_us}us is in no applied log"
            )
            continue
        missing = [node for node, upto in sorted(applied_upto.items()) if upto < found]
        if missing:
            violations.append(
                f"write {client_id}.{seq} acknowledged at t={acked_us}us (slot {found}) is "
                f"missing from the applied log of nodes {missing}"
            )
    return violations
