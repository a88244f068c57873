"""Rule tests for one object's log: each input, the exact effects."""

from __future__ import annotations

from pyxos.core.commands import Command
from pyxos.core.ids import Ballot
from pyxos.core.io import Persist, Send
from pyxos.core.wpaxos.messages import (
    Accept,
    Accepted,
    AcceptedEntry,
    DecidedEntry,
    Prepare,
    Promise,
    Reject,
)
from pyxos.core.wpaxos.objects import ObjectLog
from pyxos.core.wpaxos.records import AcceptedValue, Promised

K = b"k"
X = (Command(client_id=1001, seq=1, op=b"x"),)
Y = (Command(client_id=1002, seq=1, op=b"y"),)
B1 = Ballot(1, 1)
B2 = Ballot(2, 2)


def _accept(slot: int, ballot: Ballot = B1, batch: tuple[Command, ...] = X) -> Accept:
    return Accept(obj=K, ballot=ballot, slot=slot, batch=batch, commit_upto=0)


def test_a_promise_is_persisted_before_it_is_sent_and_reports_what_was_accepted() -> None:
    log = ObjectLog(K)
    log.on_accept(1, _accept(1))
    log.learn(1, X)
    log.on_accept(1, _accept(2, batch=Y))
    effects = log.on_prepare(2, Prepare(obj=K, ballot=B2, from_slot=2))
    assert effects == [
        Persist(records=(Promised(obj=K, ballot=B2),)),
        Send(
            to=2,
            message=Promise(
                obj=K,
                ballot=B2,
                from_slot=2,
                accepted=(AcceptedEntry(slot=2, ballot=B1, batch=Y),),
                decided_upto=1,
                decided=(),
            ),
        ),
    ]
    assert log.owner == 2


def test_a_lower_ballot_is_refused_with_the_promise() -> None:
    log = ObjectLog(K)
    log.on_prepare(2, Prepare(obj=K, ballot=B2, from_slot=1))
    refusal = Send(to=1, message=Reject(obj=K, ballot=B1, promised=B2))
    assert log.on_prepare(1, Prepare(obj=K, ballot=B1, from_slot=1)) == [refusal]
    assert log.on_accept(1, _accept(1)) == [refusal]


def test_an_acceptance_is_persisted_before_it_is_acknowledged_once() -> None:
    log = ObjectLog(K)
    ack = Send(to=1, message=Accepted(obj=K, ballot=B1, slot=1, decided_upto=0))
    record = AcceptedValue(obj=K, slot=1, ballot=B1, batch=X)
    assert log.on_accept(1, _accept(1)) == [Persist(records=(record,)), ack]
    # A retransmission: no second record, and the answer waits behind a barrier, since the
    # learned point it carries lets peers forget values.
    assert log.on_accept(1, _accept(1)) == [Persist(records=()), ack]


def test_a_commit_decides_only_what_was_accepted_at_its_ballot() -> None:
    log = ObjectLog(K)
    log.on_accept(1, _accept(1))
    log.on_accept(2, _accept(2, ballot=B2, batch=Y))
    assert log.commit_point(B1, 2) == [(1, X)]
    assert log.commit_point(B2, 2) == [(2, Y)]


def test_compaction_forgets_only_what_every_member_learned() -> None:
    log = ObjectLog(K)
    for slot in (1, 2, 3):
        log.on_accept(1, _accept(slot))
        log.learn(slot, X)
    log.deliverable()
    log.stable_upto = 1
    assert log.truncate(3) == 2  # slots 2 and 3 are kept for a member that may ask
    assert log.entries(1, 3, 10) == (DecidedEntry(slot=2, batch=X), DecidedEntry(slot=3, batch=X))
    assert log.on_accept(1, _accept(1)) == []  # an old retransmission below the cut
    log.stable_upto = 5
    assert log.truncate(3) == 4  # never past what the node applied
