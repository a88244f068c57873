"""What the workload needs of a cluster: a put and a read, by worker, and one error type.

Two transports implement it: `pyxos.bench.fast` (the fast client protocol, through
`AsyncClient`) and `pyxos.bench.http` (`/v1/kv/{key}` over HTTP). A failed operation raises
`OpFailed` with a short code that the report counts errors by.
"""

from __future__ import annotations

from typing import Protocol


class OpFailed(Exception):  # noqa: N818 (it is an outcome, not a bug)
    """An operation failed; `code` is the error's type (`timeout`, `unavailable`, ...)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class Transport(Protocol):
    """A cluster as the benchmark sees it. `worker` lets a transport spread the workers over
    its connections or nodes; every call may be made concurrently with others."""

    async def put(self, worker: int, key: str, value: bytes) -> bytes | None:
        """Set `key`; its previous value (None: absent). Raises `OpFailed`."""
        ...

    async def get(self, worker: int, key: str) -> bytes | None:
        """The value of `key` (None: absent). Raises `OpFailed`."""
        ...

    async def aclose(self) -> None: ...
