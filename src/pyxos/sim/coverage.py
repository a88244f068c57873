"""Coverage counters: proof that a run exercised the protocol's hard paths.

Counted from the nodes' `Note` effects: `leader` (a node became leader), `repropose` (a new
leader re-proposed a value it found accepted but not decided) and `catchup` (a node installed
chosen values received from a peer) and `snapshot_installed` (a node behind its peers'
compaction point installed a peer's snapshot); the simulator adds `torn_tail` when a restart
cut a torn record off the disk with the real frame scanner. A catch-up counts as "after
restart" when the noting node has restarted at least once in this run.
"""

from __future__ import annotations

from pyxos.sim.result import COVERAGE_COUNTERS


class Coverage:
    __slots__ = ("catchup_after_restart", "notes")

    def __init__(self) -> None:
        self.notes: dict[str, int] = {}
        self.catchup_after_restart = 0

    def on_note(self, kind: str, *, restarted: bool) -> None:
        notes = self.notes
        notes[kind] = notes.get(kind, 0) + 1
        if kind == "catchup" and restarted:
            self.catchup_after_restart += 1

    def counters(self) -> dict[str, bool]:
        flags = {
            "leader_change": self.notes.get("leader", 0) >= 2,
            "repropose": self.notes.get("repropose", 0) >= 1,
            "catchup_after_restart": self.catchup_after_restart >= 1,
            "catchup_snapshot": self.notes.get("snapshot_installed", 0) >= 1,
            "torn_tail": self.notes.get("torn_tail", 0) >= 1,
            "rebuild_after_corruption": self.notes.get("rejoined", 0) >= 1,
        }
        assert tuple(flags) == COVERAGE_COUNTERS
        return flags

    def sorted_notes(self) -> dict[str, int]:
        return dict(sorted(self.notes.items()))
