"""Acceptor rules (Paxos for System Builders, section 3): each answer after its Persist."""

from __future__ import annotations

from pyxos.core.commands import Command
from pyxos.core.ids import Ballot
from pyxos.core.io import Persist, Send
from pyxos.core.multipaxos.acceptor import Acceptor
from pyxos.core.multipaxos.messages import (
    Accept,
    Accepted,
    AcceptedEntry,
    DecidedEntry,
    Prepare,
    Promise,
    Reject,
)
from pyxos.core.multipaxos.records import AcceptedValue, Promised

B1 = Ballot(1, 2)
B2 = Ballot(2, 3)
CMD = (Command(client_id=7, seq=1, op=b"x"),)


def test_a_promise_leaves_after_the_persist_that_records_it() -> None:
    acceptor = Acceptor(1)
    effects = acceptor.on_prepare(2, Prepare(ballot=B1, from_slot=1), decided_upto=0, decided={})
    assert effects == [
        Persist(records=(Promised(ballot=B1),)),
        Send(to=2, message=Promise(ballot=B1, from_slot=1, accepted=(), decided_upto=0)),
    ]


def test_a_prepare_below_the_promise_is_rejected_with_the_promise() -> None:
    acceptor = Acceptor(1)
    acceptor.on_prepare(3, Prepare(ballot=B2, from_slot=1), decided_upto=0, decided={})
    effects = acceptor.on_prepare(2, Prepare(ballot=B1, from_slot=1), decided_upto=0, decided={})
    assert effects == [Send(to=2, message=Reject(ballot=B1, promised=B2))]


def test_an_accept_is_acknowledged_after_it_is_persisted() -> None:
    acceptor = Acceptor(1)
    effects = acceptor.on_accept(2, Accept(ballot=B1, slot=4, batch=CMD, commit_upto=0))
    assert effects == [
        Persist(records=(AcceptedValue(slot=4, ballot=B1, batch=CMD),)),
        Send(to=2, message=Accepted(ballot=B1, slot=4)),
    ]
    assert acceptor.promised == B1


def test_an_accept_below_the_promise_is_rejected_and_changes_nothing() -> None:
    acceptor = Acceptor(1)
    acceptor.on_prepare(3, Prepare(ballot=B2, from_slot=1), decided_upto=0, decided={})
    effects = acceptor.on_accept(2, Accept(ballot=B1, slot=1, batch=CMD, commit_upto=0))
    assert effects == [Send(to=2, message=Reject(ballot=B1, promised=B2))]
    assert acceptor.accepted == {}


def test_a_retransmitted_accept_is_acknowledged_without_a_second_write() -> None:
    acceptor = Acceptor(1)
    accept = Accept(ballot=B1, slot=1, batch=CMD, commit_upto=0)
    acceptor.on_accept(2, accept)
    assert acceptor.on_accept(2, accept) == [Send(to=2, message=Accepted(ballot=B1, slot=1))]


def test_a_promise_reports_what_was_accepted_from_the_first_slot_on() -> None:
    acceptor = Acceptor(1)
    acceptor.on_accept(2, Accept(ballot=B1, slot=1, batch=CMD, commit_upto=0))
    acceptor.on_accept(2, Accept(ballot=B1, slot=2, batch=(), commit_upto=0))
    effects = acceptor.on_prepare(3, Prepare(ballot=B2, from_slot=2), decided_upto=1, decided={})
    promise = effects[-1]
    assert isinstance(promise, Send) and isinstance(promise.message, Promise)
    assert promise.message.accepted == (AcceptedEntry(slot=2, ballot=B1, batch=()),)


def test_recovery_takes_the_highest_promise_including_accepts() -> None:
    acceptor = Acceptor(1)
    acceptor.recover(
        [
            Promised(ballot=B1),
            AcceptedValue(slot=1, ballot=B2, batch=CMD),
            Promised(ballot=Ballot(1, 9)),
        ]
    )
    assert acceptor.promised == B2
    assert acceptor.accepted == {1: (B2, CMD)}


def test_a_promise_speaks_for_chosen_values_learned_without_accepting_them() -> None:
    # A replica rebuilt after losing its disk may have voted for such a value and forgotten.
    acceptor = Acceptor(1)
    acceptor.on_accept(2, Accept(ballot=B1, slot=3, batch=(), commit_upto=0))
    effects = acceptor.on_prepare(
        3, Prepare(ballot=B2, from_slot=2), decided_upto=3, decided={1: CMD, 2: CMD, 3: ()}
    )
    promise = effects[-1]
    assert isinstance(promise, Send) and isinstance(promise.message, Promise)
    assert promise.message.decided == (DecidedEntry(slot=2, batch=CMD),)
    assert promise.message.accepted == (AcceptedEntry(slot=3, ballot=B1, batch=()),)
