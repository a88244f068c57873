"""`pyxos.SyncNode`: an embedded node for threaded code.

The node runs on its own event loop in a background thread; each method hands a coroutine to
that loop and waits for its result. Callbacks (`on_role_change`, `on_applied`) run on the
node's thread, so they must be quick and thread-safe towards the rest of the program.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from pyxos.embed.errors import RequestId
from pyxos.embed.node import Consistency, Node
from pyxos.embed.replicated import Call
from pyxos.runtime.status import NodeStatus

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


class SyncNode:
    """The blocking twin of `Node`: `with SyncNode(config, node_id, machines) as node: ...`

    Takes the same arguments as `Node`; its methods block and raise the same errors.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.node = Node(*args, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._loop is not None:
            raise RuntimeError("the node is already started")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=loop.run_forever, name=f"pyxos-node-{self.node.node_id}", daemon=True
        )
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._run(self.node.start())
        except BaseException:
            self._close_loop()
            raise

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            self._run(self.node.stop())
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    def __enter__(self) -> SyncNode:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the node is not started")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    @overload
    def propose(
        self,
        command: Call[R],
        *,
        timeout: float | None = None,
        request_id: RequestId | None = None,
    ) -> R: ...

    @overload
    def propose(
        self,
        command: Any,
        *,
        machine: str | None = None,
        timeout: float | None = None,
        request_id: RequestId | None = None,
    ) -> Any: ...

    def propose(
        self,
        command: Any,
        *,
        machine: str | None = None,
        timeout: float | None = None,
        request_id: RequestId | None = None,
    ) -> Any:
        """`Node.propose`, blocking."""
        return self._run(
            self.node.propose(command, machine=machine, timeout=timeout, request_id=request_id)
        )

    def call(
        self, method: Callable[Concatenate[Any, P], R], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """`Node.call`, blocking."""
        return self._run(self.node.call(method, *args, **kwargs))

    def read(
        self,
        query: Callable[[Any], T],
        *,
        machine: str | None = None,
        consistency: Consistency = "linearizable",
        timeout: float | None = None,
    ) -> T:
        """`Node.read` of a function of the machine, blocking (the function runs on the
        node's thread)."""
        return self._run(
            self.node.read(query, machine=machine, consistency=consistency, timeout=timeout)
        )

    @property
    def is_leader(self) -> bool:
        return self.node.is_leader

    def status(self) -> NodeStatus:
        loop = self._loop
        if loop is None:
            return self.node.status()

        async def status() -> NodeStatus:
            return self.node.status()

        return self._run(status())
