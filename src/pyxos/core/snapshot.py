"""The snapshot every protocol takes: the node's state after a position, and what it covers.

`state` is opaque to the core (the node's machine and session table). `promised` and `time_ms`
are the protocol's: the promise it had made when the snapshot was taken (once the snapshot is
durable the log may drop the promises it covers) and the log time of the state (so that a
replica that installs a peer's snapshot continues log time from it, see `clock.py`).
"""

from __future__ import annotations

import msgspec

from pyxos.core.ids import Ballot, Slot


class Snapshot(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """The state after applying every position up to `slot`.

    Fields are only ever added at the end, with a default: a snapshot file written by an older
    version still decodes (`time_ms` was added after the first release)."""

    slot: Slot
    promised: Ballot
    state: bytes
    time_ms: int = 0
