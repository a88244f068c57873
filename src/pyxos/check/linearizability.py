"""Linearizability checking of key-value histories: WGL search with Lowe's memoisation.

Theory of operation
-------------------
A history is linearizable if every operation can be given a single instant inside its interval
(`invoke` .. `complete`) such that running the operations one at a time in the order of those
instants through the sequential model (`pyxos.check.model`) reproduces every observed output.
An operation with an unknown outcome (`complete is None`) has an open-ended interval and may
also never take effect. An operation precedes another in real time only if it completed
*strictly* before the other was invoked; equal timestamps count as concurrent, since the clock
cannot tell which came first.

1. Partition by key. Linearizability is local (Herlihy & Wing, 1990): a history is
   linearizable iff each object's sub-history is, and every key is an independent register.
   Searching keys one by one turns one exponential search into many small ones.

2. Prune what cannot matter. An unknown-outcome `get` changes nothing and returns nothing we
   saw. An unknown-outcome write of a value that no completed operation returned (more
   precisely: outside the values some completed operation returned, closed under "an unknown
   cas expecting e writes such a value") can be dropped too: between it and the next
   unconditional write no completed operation can run, since it would have returned that
   value, so nothing can tell whether it happened. Repeated to a fixpoint. With unique written
   values, as the simulator uses, this removes nearly every lost write before the search.

3. Search (Wing & Gong; Lowe 2017; as in Porcupine). Each completed operation has a call
   entry at its invoke time and a return entry at its completion; an unknown outcome has only
   a call entry (its return would be "at infinity", and the search never gets that far). The
   entries form a doubly linked list in time order (calls before returns at equal times).
   Walking the list from the head:

   - at a call entry, try to linearize that operation now: the model must accept its output in
     the current state, and the pair (set of linearized operations as an int bitset, new model
     state) must not have been reached before. If it has, everything reachable from there was
     already explored and failed: that cache is what keeps the search polynomial in practice.
     On success, push (entry, old state), unlink the call and its return from the list, and
     restart from the head.
   - at a return entry, that operation's deadline has passed without it being linearized: undo
     the most recent choice (pop, relink) and try the next call after it. With nothing to undo,
     no linearization exists.

   The search succeeds once every completed operation is linearized: unknown-outcome operations
   left over simply never took effect. The cache doubles as the budget: after `max_states`
   distinct configurations for one key the search gives up as undecided.

   Unknown-outcome operations with the same effect (kind, value, expected) are interchangeable,
   and the one invoked earlier can stand in for a later one at any point of a linearization
   (neither ever expires). So within such a class they are linearized only in invoke order,
   rather than the search telling apart which n of them took effect.

   Unknown outcomes are tried eagerly, where they appear in the list, like any other call.
   Trying them only at deadlines looks cheaper but measured worse: in real histories a lost
   write usually did take effect soon after its invocation. A history with many lost writes of
   commonly read values on one hot key is the expensive case (at 300 operations, 16 clients,
   20% lost and two values, about 70 ms typically and up to a second); unique written values
   avoid it, thanks to step 2.

4. Shrink. For the first failing key (in sorted order), relax operations greedily while the
   history stays non-linearizable: drop reads, stop checking what writes returned, let writes
   take effect at any time or never (`pyxos.check.counterexample` says why plain removal gives
   useless answers). The counterexample is the operations still held to their record: not
   linearizable whatever the key's other operations did, and 1-minimal (relaxing any one of
   them by one step makes it linearizable). `CheckResult.context` names its writes whose
   results play no part.

Steps 2 and 3 live in `pyxos.check.search`, step 4 in `pyxos.check.counterexample`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyxos.check.counterexample import minimise
from pyxos.check.history import Operation, format_operation, format_value
from pyxos.check.search import Verdict, check_key


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """The outcome of `check_history`. Callers should treat `ok=False` as a failure, whether
    the history was shown non-linearizable or the search was inconclusive (`undecided`)."""

    ok: bool
    checked_ops: int
    keys: int
    failing_key: str | None = None
    counterexample: tuple[Operation, ...] = ()
    undecided: bool = False
    # The writes in `counterexample` whose return values play no part: only that they took
    # effect within their intervals matters (see `pyxos.check.counterexample`).
    context: tuple[Operation, ...] = ()
    # False if shrinking ran out of budget: the counterexample fails, but may not be minimal.
    minimal: bool = True

    def render(self) -> str:
        """A human-readable report; the counterexample is listed in time order."""
        summary = f"{_count(self.checked_ops, 'operation')} on {_count(self.keys, 'key')}"
        if self.ok:
            return f"linearizable: {summary}\n"
        key = format_value(self.failing_key)
        if self.undecided:
            return (
                f"INCONCLUSIVE: {summary}; the search for key {key} reached its state budget "
                "before deciding. Treat this as a failure, or raise the budget (max_states, "
                "--max-states) to decide.\n"
            )
        size = _count(len(self.counterexample), "operation")
        title = "Minimal counterexample" if self.minimal else "Counterexample"
        lines = [
            f"NOT LINEARIZABLE: {summary}; key {key} has no valid linearization.",
            f"{title} ({size} on key {key}, in time order):",
        ]
        for op in self.counterexample:
            mark = "*" if op in self.context else " "
            lines.append(f"  {mark} {format_operation(op)}")
        lines.append(
            "No order of these fits their intervals and results, whatever the key's other "
            "operations did. Relaxing any one of them makes one possible: dropping a read, "
            "ignoring what a write returned, or letting a write marked * (whose result plays no "
            "part) take effect at any time after its invocation, or never."
            if self.context
            else "No order of these fits their intervals and results, whatever the key's other "
            "operations did. Relaxing any one of them makes one possible: dropping a read, or "
            "ignoring what a write returned."
        )
        if not self.minimal:
            lines.append(
                "(Shrinking ran out of search budget: the counterexample may not be minimal; "
                "only the first of the two claims above is certain.)"
            )
        return "\n".join(lines) + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def check_history(ops: Sequence[Operation], *, max_states: int = 2_000_000) -> CheckResult:
    """Check a whole history (any order, any number of keys).

    `max_states` bounds the distinct configurations explored for any one key; shrinking a
    counterexample may explore a quarter as many again in all.
    """
    if max_states < 1:
        raise ValueError(f"max_states must be positive, not {max_states}")
    by_key: dict[str, list[Operation]] = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    undecided_key: str | None = None
    for key in sorted(by_key):
        verdict, explored = check_key(by_key[key], max_states=max_states)
        match verdict:
            case Verdict.LINEARIZABLE:
                pass
            case Verdict.VIOLATION:
                shrunk = minimise(by_key[key], max_states=max_states, hint=explored)
                return CheckResult(
                    ok=False,
                    checked_ops=len(ops),
                    keys=len(by_key),
                    failing_key=key,
                    counterexample=shrunk.ops,
                    context=shrunk.context,
                    minimal=shrunk.minimal,
                )
            case Verdict.UNDECIDED:
                # Keep going: a decided violation on another key is the more useful report.
                if undecided_key is None:
                    undecided_key = key
    if undecided_key is not None:
        return CheckResult(
            ok=False,
            checked_ops=len(ops),
            keys=len(by_key),
            failing_key=undecided_key,
            undecided=True,
        )
    return CheckResult(ok=True, checked_ops=len(ops), keys=len(by_key))
