"""Shared fixtures of the storage tests: seeded records and disarmed failpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from random import Random

import pytest

from pyxos.core.commands import Command
from pyxos.core.ids import Ballot
from pyxos.core.multipaxos.records import AcceptedValue, DecidedValue, Promised, Record
from pyxos.storage import failpoints

MakeRecords = Callable[[Random, int], list[Record]]


def random_records(rng: Random, count: int) -> list[Record]:
    """A plausible replica log: promises now and then, accepts and decisions of rising slots."""
    records: list[Record] = []
    ballot = Ballot(1, rng.randrange(5))
    slot = 0
    for _ in range(count):
        roll = rng.random()
        if roll < 0.05:
            ballot = Ballot(ballot.round + 1, rng.randrange(5))
            records.append(Promised(ballot=ballot))
            continue
        batch = tuple(
            Command(client_id=rng.randrange(1, 50), seq=rng.randrange(1, 1000), op=rng.randbytes(n))
            for n in (rng.randrange(0, 40) for _ in range(rng.randrange(0, 3)))
        )
        if roll < 0.7:
            slot += 1
            records.append(AcceptedValue(slot=slot, ballot=ballot, batch=batch))
        else:
            records.append(DecidedValue(slot=max(1, slot - rng.randrange(3)), batch=batch))
    return records


@pytest.fixture
def make_records() -> MakeRecords:
    return random_records


@pytest.fixture(autouse=True)
def _no_failpoints() -> Iterator[None]:
    failpoints.clear()
    yield
    failpoints.clear()
