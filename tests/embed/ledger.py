"""A custom machine for the embedding tests: a ledger of command ids and how often each was
applied, so that a test can tell "applied exactly once" from "applied twice" or "lost"."""

from __future__ import annotations

import msgspec

import pyxos


class Record(msgspec.Struct, frozen=True, tag="record"):
    """Count command `id` once more; its result is the ledger's size after it."""

    id: str


class Fail(msgspec.Struct, frozen=True, tag="fail"):
    """Raise inside `apply` (on every replica alike)."""

    reason: str


LedgerCommand = Record | Fail


class _State(msgspec.Struct):
    counts: dict[str, int]
    slots: int


class Ledger(pyxos.Machine[LedgerCommand, int]):
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.last_slot = 0

    def apply(self, command: LedgerCommand) -> int:
        assert self.context.slot >= self.last_slot, "slots go up"
        self.last_slot = self.context.slot
        if isinstance(command, Fail):
            raise ValueError(command.reason)
        self.counts[command.id] = self.counts.get(command.id, 0) + 1
        return len(self.counts)

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(_State(counts=self.counts, slots=self.last_slot))

    def restore(self, data: bytes) -> None:
        state = msgspec.msgpack.decode(data, type=_State)
        self.counts, self.last_slot = state.counts, state.slots

    def digest(self) -> bytes:
        """The state alone, in a canonical form (equal states, equal bytes)."""
        return msgspec.msgpack.encode(sorted(self.counts.items()))
