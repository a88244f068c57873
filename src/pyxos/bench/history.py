"""The run's history, in the checker's terms (`pyxos.check.history`).

Every operation the benchmark issues is recorded with its invocation and completion times
(nanoseconds since the run began) and what it returned. An operation that failed in any way
(a timeout, a lost connection, an error answer) is recorded with `complete=None`: its outcome
is unknown to the benchmark, so the checker lets it take effect at any time after its
invocation, or never. The client that lost an outcome continues under a new client id, as the
history format asks (`new_client`).

Recording appends a tuple, nothing more, so that it costs the measured loop little; the
`Operation`s (which validate themselves) are built once, at the end.
"""

from __future__ import annotations

import itertools

from pyxos.check.history import Operation, OpKind

_Entry = tuple[int, OpKind, str, str | None, int, int | None, str | None]


class HistoryLog:
    """Operations in the order they completed (the checker sorts by time itself)."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._client_ids = itertools.count(1)

    def new_client(self) -> int:
        """A client id never used before in this history."""
        return next(self._client_ids)

    def completed(
        self,
        client: int,
        kind: OpKind,
        key: str,
        *,
        value: str | None,
        invoke_ns: int,
        complete_ns: int,
        output: str | None,
    ) -> None:
        """`kind` on `key` (writing `value`) returned `output` (None: the key was absent)."""
        self._entries.append((client, kind, key, value, invoke_ns, complete_ns, output))

    def unknown(
        self, client: int, kind: OpKind, key: str, value: str | None, invoke_ns: int
    ) -> None:
        """`kind` on `key` failed: whether it took effect is unknown."""
        self._entries.append((client, kind, key, value, invoke_ns, None, None))

    def __len__(self) -> int:
        return len(self._entries)

    def operations(self) -> list[Operation]:
        return [
            Operation(
                client=client,
                kind=kind,
                key=key,
                value=value,
                invoke=invoke,
                complete=complete,
                output=output if complete is not None else None,
            )
            for client, kind, key, value, invoke, complete, output in self._entries
        ]
