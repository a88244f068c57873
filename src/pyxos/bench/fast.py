"""The fast client protocol as a benchmark transport: `AsyncClient`s, workers spread over them.

Each `AsyncClient` keeps one pipelined connection (to the leader once it knows it) and a pool
of exactly-once write sessions; `connections` of them share the workers round-robin.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyxos.bench.transport import OpFailed
from pyxos.client import AsyncClient, PyxosError
from pyxos.client.async_client import Consistency


class FastTransport:
    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        workers: int,
        connections: int,
        timeout_s: float,
        consistency: Consistency,
    ) -> None:
        if connections < 1:
            raise ValueError("connections must be at least 1")
        sessions = max(1, -(-workers // connections))
        self._clients = [
            AsyncClient(
                list(endpoints),
                timeout_s=timeout_s,
                attempt_timeout_s=min(timeout_s, 5.5),
                sessions_max=sessions,
            )
            for _ in range(connections)
        ]
        self._consistency: Consistency = consistency

    async def put(self, worker: int, key: str, value: bytes) -> bytes | None:
        try:
            return await self._clients[worker % len(self._clients)].put(key, value)
        except PyxosError as exc:
            raise OpFailed(exc.code, exc.message) from None
        except (OSError, RuntimeError) as exc:
            raise OpFailed("connection", str(exc)) from None

    async def get(self, worker: int, key: str) -> bytes | None:
        try:
            return await self._clients[worker % len(self._clients)].get(key, self._consistency)
        except PyxosError as exc:
            raise OpFailed(exc.code, exc.message) from None
        except (OSError, RuntimeError) as exc:
            raise OpFailed("connection", str(exc)) from None

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
