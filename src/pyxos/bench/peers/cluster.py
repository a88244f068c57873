"""What the driver needs of a running cluster of any system."""

from __future__ import annotations

from typing import Protocol

from pyxos.bench.transport import Transport


class Cluster(Protocol):
    """A started 3-member cluster that serves; `stop()` ends its members."""

    system: str
    protocols: tuple[str, ...]
    """The ways a client can talk to it, the first the system's own fastest."""

    @property
    def pids(self) -> list[int]:
        """Every member's process id (their CPU time is the servers' cost)."""
        ...

    def prepare(self, protocol: str) -> None:
        """Get ready to serve over `protocol` (blocking; before its transports are made)."""
        ...

    def transport(self, protocol: str, *, workers: int, timeout_s: float) -> Transport:
        """A transport over `protocol` for `workers` closed-loop clients; linearizable reads."""
        ...

    def stop(self) -> None: ...
