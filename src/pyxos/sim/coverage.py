"""Coverage counters: proof that a run exercised the protocol's hard paths.

Counted from the nodes' `Note` effects; which notes make which counter is the protocol's to say
(`ProtocolSpec.coverage`: Multi-Paxos counts a second leader, a re-proposal, a catch-up after a
restart, a snapshot installed, a rebuild; WPaxos a steal, a forward, a re-proposal after a
steal). The simulator adds `torn_tail` when a restart cut a torn record off the disk with the
real frame scanner. A note counts as "after restart" when the noting node has restarted at
least once in this run.
"""

from __future__ import annotations

from pyxos.core.protocol import CoverageCounter


class Coverage:
    __slots__ = ("after_restart", "notes")

    def __init__(self) -> None:
        self.notes: dict[str, int] = {}
        self.after_restart: dict[str, int] = {}

    def on_note(self, kind: str, *, restarted: bool) -> None:
        notes = self.notes
        notes[kind] = notes.get(kind, 0) + 1
        if restarted:
            self.after_restart[kind] = self.after_restart.get(kind, 0) + 1

    def counters(self, counters: tuple[CoverageCounter, ...]) -> dict[str, bool]:
        """Which of `counters` this run covered, in their order."""
        flags: dict[str, bool] = {}
        for counter in counters:
            seen = self.after_restart if counter.after_restart else self.notes
            flags[counter.name] = seen.get(counter.note, 0) >= counter.at_least
        return flags

    def sorted_notes(self) -> dict[str, int]:
        return dict(sorted(self.notes.items()))
