"""`pyxos.Node`: one node of a cluster inside your own asyncio program, running your machines.

Theory of operation. The node is assembled exactly as `pyxos node` assembles it
(`pyxos.runtime.assembly`: the write-ahead log recovered from the data directory, the boot
counter, the `NodeRunner`, the TCP peer transport), from the same cluster file; only the HTTP
API is absent, and the fast client protocol is served only when asked for. The machines the
node replicates are the caller's, each under a name in one `Router`: one replicated log, many
machines.

`propose` runs one command under one of the node's own client sessions (`SessionPool`), so that
the runner's retries, and the caller's own with the same `RequestId`, are applied once; `call`
is `propose` of a `Call` of a `@replicated` method, retried the same way. A
follower forwards the command to the leader and answers when it has applied it itself, so the
answer reflects this node's state. `read` runs a function of a machine on this node's state:
after a read index confirmed by a quorum (linearizable), or at once (local).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, overload

import msgspec

from pyxos.embed.errors import (
    CommandFailed,
    NoQuorum,
    RequestId,
    Timeout,
    Unavailable,
)
from pyxos.embed.events import AppliedCommand, Feed, RoleChange, Subscription
from pyxos.embed.machine import (
    LOCAL_READS,
    Adapter,
    LocalReads,
    Machine,
    MachineAdapter,
    RawAdapter,
    decode_outcome,
)
from pyxos.embed.replicated import Call, Replicated, ReplicatedAdapter
from pyxos.embed.sessions import SessionPool
from pyxos.machines.base import StateMachine
from pyxos.machines.router import Router, route
from pyxos.runtime.assembly import AssembledNode, assemble_node
from pyxos.runtime.config import ClusterConfig, load_config
from pyxos.runtime.status import NodeStatus, stopped

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")

MachineLike = Machine[Any, Any] | Replicated | StateMachine
"""What a node replicates: a typed `Machine`, a `Replicated` class, or a bytes-level
`StateMachine` (the built-in machines)."""
Consistency = Literal["linearizable", "local"]


class Node:
    """One embedded node. `async with Node(config, node_id, machines) as node: ...`

    `config` is a `ClusterConfig` or the path of a cluster file (the same TOML as
    `pyxos node`); `node_id` this node's id in it. `machines` maps names to machines (a single
    machine is registered as "main"); `default` names the one that takes commands without a
    name, from clients of the fast client protocol (`serve_clients=True`); it defaults to the
    first. `on_role_change` and `on_applied` are called on the event loop, between two steps of
    the node: keep them quick.
    """

    def __init__(
        self,
        config: ClusterConfig | str | os.PathLike[str],
        node_id: int | str,
        machines: MachineLike | Mapping[str, MachineLike],
        *,
        default: str | None = None,
        on_role_change: Callable[[RoleChange], None] | None = None,
        on_applied: Callable[[AppliedCommand], None] | None = None,
        serve_clients: bool = False,
    ) -> None:
        self.config = (
            config if isinstance(config, ClusterConfig) else load_config(os.fspath(config))
        )
        self.node_id = self.config.resolve(node_id)
        if not isinstance(machines, Mapping):
            machines = {"main": machines}
        if not machines:
            raise ValueError("a node runs at least one machine")
        self._roles: Feed[RoleChange] = Feed([on_role_change] if on_role_change else [])
        self._applied: Feed[AppliedCommand] = Feed([on_applied] if on_applied else [])
        self._adapters = {name: self._adapt(name, m) for name, m in machines.items()}
        self._default = default if default is not None else next(iter(self._adapters))
        if self._default not in self._adapters:
            raise ValueError(f"default machine {self._default!r} is not among {sorted(machines)}")
        self._reads = LocalReads()
        self._serve_clients = serve_clients
        self._assembled: AssembledNode | None = None
        self._pool: SessionPool | None = None
        self._clients: Any = None
        self.is_leader = False
        self.failure: BaseException | None = None
        """Why the node stopped by itself (a storage failure or a broken invariant), if it did."""

    def _adapt(self, name: str, machine: MachineLike) -> Adapter:
        if not name or name.startswith("~"):
            raise ValueError(f"machine name {name!r}: not empty, not starting with ~")
        if isinstance(machine, Machine):
            return MachineAdapter(name, machine, self._applied)
        if isinstance(machine, Replicated):
            return ReplicatedAdapter(name, machine, self._applied)
        return RawAdapter(name, machine)

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Recover from the data directory and join the cluster. Raises the storage errors
        (another process holds the directory, a corrupt log) and `OSError` if the peer address
        cannot be bound."""
        if self._assembled is not None:
            raise RuntimeError("the node is already started")
        machines: dict[str, StateMachine] = {
            name: adapter.state_machine() for name, adapter in self._adapters.items()
        }
        machines[LOCAL_READS] = self._reads
        router = Router(machines, default=self._default)
        assembled = await assemble_node(
            self.config,
            self.node_id,
            machine=router,
            on_failure=self._on_failure,
            on_role=self._on_role,
        )
        runner = assembled.runner
        self._pool = SessionPool(self.node_id, self.config.limits.clients_max, assembled.boot << 32)
        await runner.start()
        try:
            await assembled.transport.start()
            if self._serve_clients:
                await self._start_clients(assembled)
        except BaseException:
            await runner.stop()
            await assembled.transport.close()
            raise
        self._assembled = assembled
        log.info("node=%d embedded, machines %s", self.node_id, sorted(self._adapters))

    async def _start_clients(self, assembled: AssembledNode) -> None:
        from pyxos.runtime.client_server import ClientServer

        spec = assembled.spec
        self._clients = ClientServer(
            assembled.runner,
            cluster=self.config.cluster,
            listen=spec.client,
            members={s.node_id: s.client for s in self.config.nodes},
            status=self.status,
        )
        await self._clients.start()

    async def stop(self) -> None:
        """Leave the cluster: stop stepping, sync what was appended, close the log and the
        sockets. Commands still waiting get `Unavailable`. Idempotent."""
        assembled, self._assembled = self._assembled, None
        if assembled is None:
            return
        await assembled.runner.stop()
        if self._clients is not None:
            await self._clients.close()
        await assembled.transport.close()
        self._lose_leadership()
        self._roles.end()
        self._applied.end()

    async def __aenter__(self) -> Node:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _on_failure(self, exc: BaseException) -> None:
        # The runner has stopped by itself; unlike `pyxos node`, an embedded node does not end
        # the process: the application decides (`failure` says why).
        self.failure = exc
        log.critical("node=%d failed and stopped: %s", self.node_id, exc)
        self._lose_leadership()

    def _on_role(self, is_leader: bool) -> None:
        self.is_leader = is_leader
        log.info("node=%d %s", self.node_id, "became leader" if is_leader else "lost leadership")
        self._roles.publish(RoleChange(node_id=self.node_id, is_leader=is_leader))

    def _lose_leadership(self) -> None:
        if self.is_leader:
            self._on_role(False)

    # ---- commands -------------------------------------------------------------------------
    @overload
    async def propose(
        self,
        command: Call[R],
        *,
        timeout: float | None = None,
        request_id: RequestId | None = None,
    ) -> R: ...

    @overload
    async def propose(
        self,
        command: Any,
        *,
        machine: str | None = None,
        timeout: float | None = None,
        request_id: RequestId | None = None,
    ) -> Any: ...

    async def propose(
        self,
        command: Any,
        *,
        machine: str | None = None,
        timeout: float | None = None,
        request_id: RequestId | None = None,
    ) -> Any:
        """Apply `command` to `machine` (the default one if None) through the log; its result.

        A `Call` of a `@replicated` method goes to the machine of the method's class (no
        `machine`), and its result has the method's type. `timeout` is in seconds (default:
        the cluster's `request_timeout_ms`). To retry a command whose outcome is unknown, pass
        the `request_id` of its error: it is applied at most once. Raises `Timeout` /
        `NoQuorum` (outcome unknown), `Unavailable`, `CommandFailed` (the machine raised),
        `KeyError` for an unknown machine, `TypeError` for a command of the wrong type,
        `ValueError` for a `request_id` this node can no longer retry.
        """
        if isinstance(command, Call):
            if machine is not None:
                raise TypeError("a Call goes to the machine of its method's class: no machine=")
            caller = self._owner_of(command.method)
            op = caller.encode_call(command.method, command.args, command.kwargs)
            data, rid = await self._write(route(caller.name, op), timeout, request_id)
            return _outcome(decode_outcome(data, caller.result_type_of(command.method)), rid)
        adapter = self._adapter(machine)
        op = route(adapter.name, adapter.encode_command(command))
        data, rid = await self._write(op, timeout, request_id)
        return _outcome(adapter.decode_result(data), rid)

    async def call(
        self, method: Callable[Concatenate[Any, P], R], /, *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run the `@replicated` method on the node's `Replicated` machine of its class:
        `await node.call(Counter.add, 5)`, which is `propose(Call(Counter.add, 5))`. Raises
        like `propose`; to retry a call whose outcome is unknown, propose its `Call` with the
        error's `request_id`."""
        return await self.propose(Call(method, *args, **kwargs))

    def _owner_of(self, method: Callable[..., Any]) -> ReplicatedAdapter:
        owners = [
            a
            for a in self._adapters.values()
            if isinstance(a, ReplicatedAdapter) and a.owns(method)
        ]
        if len(owners) != 1:
            name = getattr(method, "__qualname__", method)
            raise ValueError(
                f"{name} is a @replicated method of {len(owners)} machines of this node, not 1"
            )
        return owners[0]

    async def _write(
        self, op: bytes, timeout: float | None, request_id: RequestId | None
    ) -> tuple[bytes, RequestId]:
        assembled, pool = self._assembled, self._pool
        if assembled is None or pool is None:
            raise Unavailable("the node is not running", request_id=request_id)
        runner = assembled.runner
        if request_id is None:
            try:
                rid = pool.acquire()
            except IndexError:
                raise Unavailable("every client session of this node is in use") from None
        else:
            pool.reacquire(request_id)
            rid = request_id
        loop = asyncio.get_running_loop()
        limit_s = self.config.limits.request_timeout_ms / 1000
        wait_s = limit_s if timeout is None else timeout
        deadline = loop.time() + wait_s
        answered = False
        try:
            while True:
                remaining = deadline - loop.time()
                try:
                    if remaining <= 0:
                        raise TimeoutError
                    async with asyncio.timeout(remaining):
                        data = await runner.write(op, session=rid)
                except TimeoutError:
                    error = runner.deadline_error(rid, waited_ms=round(wait_s * 1000))
                    raise _unknown(error) from None
                except NoQuorum as exc:
                    raise _unknown(exc) from None  # it fails until enough nodes are back
                except Timeout:
                    continue  # the runner's own deadline came first: ours has not
                except Unavailable as exc:
                    raise Unavailable(str(exc), request_id=rid) from None
                answered = True
                return data, rid
        finally:
            pool.release(rid, park=not answered)

    # ---- reads ----------------------------------------------------------------------------
    @overload
    async def read(
        self,
        query: Callable[[Any], T],
        *,
        machine: str | None = None,
        consistency: Consistency = "linearizable",
        timeout: float | None = None,
    ) -> T: ...

    @overload
    async def read(
        self,
        query: bytes,
        *,
        machine: str | None = None,
        consistency: Consistency = "linearizable",
        timeout: float | None = None,
    ) -> bytes: ...

    async def read(
        self,
        query: Callable[[Any], Any] | bytes,
        *,
        machine: str | None = None,
        consistency: Consistency = "linearizable",
        timeout: float | None = None,
    ) -> Any:
        """`query(machine_object)` on this node's state; for a bytes-level machine, `query` may
        be the bytes of its own query, answered with bytes.

        `consistency="linearizable"` answers after this node has applied everything a quorum
        had chosen when the read arrived (no write to the log); `"local"` answers at once from
        this node's state, which may be behind. Whatever `query` raises is raised here.
        Raises `Timeout` / `NoQuorum`, `Unavailable`, `KeyError` for an unknown machine.
        """
        adapter = self._adapter(machine)
        assembled = self._assembled
        if assembled is None:
            raise Unavailable("the node is not running")
        target = adapter.target
        if isinstance(query, bytes):
            if not isinstance(adapter, RawAdapter):
                raise TypeError(f"machine {adapter.name!r} is read with a function, not bytes")
            return await self._read(route(adapter.name, query), consistency, timeout)
        if consistency == "local":
            # On the event loop, between two steps: the state is whole and as of now.
            return query(target)
        reads = self._reads
        token, token_query = reads.register(lambda: query(target))
        try:
            await self._read(route(LOCAL_READS, token_query), consistency, timeout)
            ok, value = reads.results[token]
        finally:
            reads.forget(token)
        if not ok:
            raise value
        return value

    async def _read(self, query: bytes, consistency: Consistency, timeout: float | None) -> bytes:
        assembled = self._assembled
        if assembled is None:
            raise Unavailable("the node is not running")
        runner = assembled.runner
        limit_s = self.config.limits.request_timeout_ms / 1000
        wait_s = limit_s if timeout is None else timeout
        try:
            async with asyncio.timeout(wait_s):
                return await runner.read(query, linearizable=consistency == "linearizable")
        except TimeoutError:
            raise runner.deadline_error(None, waited_ms=round(wait_s * 1000)) from None

    # ---- notifications and observation ----------------------------------------------------
    def role_changes(self) -> Subscription[RoleChange]:
        """Role changes from now on, as an async iterator (ends when the node stops)."""
        return self._roles.subscribe()

    def applied(self) -> Subscription[AppliedCommand]:
        """Commands applied to the typed machines from now on, as an async iterator."""
        return self._applied.subscribe()

    @property
    def machines(self) -> dict[str, object]:
        """The machine objects by name (read them only on the event loop, between awaits)."""
        return {name: a.target for name, a in self._adapters.items()}

    @property
    def running(self) -> bool:
        return self._assembled is not None and self.failure is None

    def status(self) -> NodeStatus:
        """The runner's status (role, leader, ballot, indexes, counters), as `/status` shows;
        role `"stopped"` when the node does not run."""
        if self._assembled is None:
            return stopped(self.node_id)
        reach = self._assembled.runner.reachability()
        return msgspec.structs.replace(
            self._assembled.runner.status(),
            cluster=self.config.cluster,
            peers_connected=self._assembled.transport.connected_peers,
            unreachable=list(reach.unreachable),
            quorum=reach.quorum,
        )

    def _adapter(self, machine: str | None) -> Adapter:
        name = self._default if machine is None else machine
        adapter = self._adapters.get(name)
        if adapter is None:
            raise KeyError(f"no machine {name!r} on this node (it has {sorted(self._adapters)})")
        return adapter


def _unknown(error: Timeout) -> Timeout:
    """`error` of a command, saying what is known of its outcome and how to retry it."""
    message = (
        f"{error}; the outcome is unknown: propose it again with this error's request_id, "
        "and it is applied at most once"
    )
    if isinstance(error, NoQuorum):
        return NoQuorum(message, unreachable=error.unreachable, request_id=error.request_id)
    return Timeout(message, request_id=error.request_id)


def _outcome(outcome: tuple[bool, Any], rid: RequestId) -> Any:
    ok, value = outcome
    if not ok:
        raise CommandFailed(value, request_id=rid)
    return value
