"""What a WPaxos snapshot lets the log drop: per object, values below the cut's `kept_from` and
promises up to its promise; nothing of an object the snapshot has no cut for."""

from __future__ import annotations

from pyxos.core.commands import Command
from pyxos.core.ids import Ballot
from pyxos.core.snapshot import ObjectCut, Snapshot
from pyxos.core.wpaxos import SPEC
from pyxos.core.wpaxos.records import AcceptedValue, DecidedValue, Promised

X = (Command(client_id=1001, seq=1, op=b"x"),)
B1 = Ballot(1, 1)
B2 = Ballot(2, 3)


def _snapshot(*cuts: ObjectCut) -> Snapshot:
    return Snapshot(
        slot=9, promised=B2, state=b"", objects=tuple(sorted(cuts, key=lambda c: c.obj))
    )


SNAPSHOT = _snapshot(
    ObjectCut(obj=b"k", applied=5, kept_from=4, promised=B1),
    ObjectCut(obj=b"j", applied=2, kept_from=3, promised=B2),
)


def test_values_below_the_cut_are_covered_and_the_rest_kept() -> None:
    assert SPEC.covers(SNAPSHOT, DecidedValue(obj=b"k", slot=3, batch=X))
    assert SPEC.covers(SNAPSHOT, AcceptedValue(obj=b"k", slot=3, ballot=B1, batch=X))
    # Applied but not yet learned by every member: kept for peers that may ask.
    assert not SPEC.covers(SNAPSHOT, DecidedValue(obj=b"k", slot=4, batch=X))
    assert not SPEC.covers(SNAPSHOT, AcceptedValue(obj=b"k", slot=5, ballot=B1, batch=X))


def test_promises_are_covered_per_object() -> None:
    assert SPEC.covers(SNAPSHOT, Promised(obj=b"k", ballot=B1))
    assert not SPEC.covers(SNAPSHOT, Promised(obj=b"k", ballot=B2))
    assert SPEC.covers(SNAPSHOT, Promised(obj=b"j", ballot=B2))


def test_an_object_without_a_cut_keeps_everything() -> None:
    assert not SPEC.covers(SNAPSHOT, DecidedValue(obj=b"z", slot=1, batch=X))
    assert not SPEC.covers(SNAPSHOT, Promised(obj=b"z", ballot=B1))


def test_a_segment_is_covered_when_every_object_in_it_is() -> None:
    covered = [DecidedValue(obj=b"k", slot=3, batch=X), Promised(obj=b"j", ballot=B1)]
    assert SPEC.extent(covered).covered_by(SNAPSHOT)
    kept = [DecidedValue(obj=b"j", slot=3, batch=X)]
    merged = SPEC.extent(covered).merge(SPEC.extent(kept))
    assert not merged.covered_by(SNAPSHOT)
    assert not SPEC.extent([Promised(obj=b"z", ballot=B1)]).covered_by(SNAPSHOT)
    assert SPEC.extent([]).covered_by(SNAPSHOT)
