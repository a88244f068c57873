"""User state machines, typed, and how they become the node's bytes-in, bytes-out machines.

A `Machine[Command, Result]` applies commands that are msgspec Structs (a tagged union of them
for several kinds of command) or plain `bytes`, and returns results msgspec can encode. The
adapter (`MachineAdapter`) turns it into a `pyxos.machines.base.StateMachine`: it decodes each
command with msgspec (never pickle: the log and the wire hold msgpack only), sets the machine's
`context` (slot, log time, client), calls `apply`, and encodes the outcome. An exception from
`apply` becomes an error outcome rather than a crash: the command is in the log forever, and
every replica fails it the same way.

Every machine, typed or not, sits under a name in one `Router`, so one replicated log carries
them all. Reads run a function of the machine in-process (`LocalReads`): the node answers the
read when its state is recent enough (after a read index for a linearizable read), by asking
the router for a query that runs the function there, between two steps of the node.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

import msgspec

from pyxos.embed.errors import RequestId
from pyxos.embed.events import AppliedCommand, Feed
from pyxos.machines.base import ApplyContext, StateMachine
from pyxos.runtime.requests import CLIENT_ID_MIN

log = logging.getLogger(__name__)

C = TypeVar("C")
R = TypeVar("R")

_ENCODER = msgspec.msgpack.Encoder()
_OUTCOME = msgspec.msgpack.Decoder(tuple[bool, msgspec.Raw])
_NO_CONTEXT = ApplyContext(slot=0, time_ms=0)


class Machine(Generic[C, R]):
    """A replicated state machine: subclass `Machine[Command, Result]` and define `apply`,
    `snapshot` and `restore`.

    `Command` is a msgspec Struct, a union of tagged Structs, or `bytes`; `Result` is anything
    msgspec encodes (None, numbers, strings, bytes, Structs, lists, dicts). `apply` must be
    deterministic: no clocks, no randomness, no I/O; for time, read `self.context.time_ms` (the
    leader's time stamped on the command, the same on every replica). `snapshot` returns the
    whole state as bytes and `restore` replaces the state with such bytes.
    """

    context: ApplyContext = _NO_CONTEXT
    """Where the command being applied sits in the log (set before each `apply`)."""
    command_type: ClassVar[Any] = None
    """The command type, when it cannot be read from `Machine[Command, Result]`."""
    result_type: ClassVar[Any] = None

    def apply(self, command: C) -> R:
        raise NotImplementedError

    def snapshot(self) -> bytes:
        raise NotImplementedError

    def restore(self, data: bytes) -> None:
        raise NotImplementedError


def machine_types(cls: type[Machine[Any, Any]]) -> tuple[Any, Any]:
    """The `(Command, Result)` a machine class was declared with (`Any` where unknown)."""
    declared: tuple[Any, Any] = (Any, Any)
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if typing.get_origin(base) is Machine:
                args = typing.get_args(base)
                declared = tuple(Any if isinstance(a, TypeVar) else a for a in args)  # type: ignore[assignment]
                break
        else:
            continue
        break
    command = cls.command_type if cls.command_type is not None else declared[0]
    result = cls.result_type if cls.result_type is not None else declared[1]
    return command, result


def encode_outcome(ok: bool, value: Any) -> bytes:
    return _ENCODER.encode((ok, value))


def decode_outcome(data: bytes, result_type: Any) -> tuple[bool, Any]:
    """`(True, result)` or `(False, error text)`; raises `msgspec.DecodeError` on bad bytes."""
    ok, raw = _OUTCOME.decode(data)
    if ok:
        return True, msgspec.msgpack.decode(raw, type=result_type)
    return False, msgspec.msgpack.decode(raw, type=str)


def request_id_of(ctx: ApplyContext) -> RequestId | None:
    if ctx.client_id == 0:
        return None
    return RequestId(ctx.client_id, ctx.seq)


class Adapter:
    """A machine registered with a node, under `name`, as the router sees it."""

    name: str
    target: object
    """What read functions receive: the user's machine object."""

    def encode_command(self, command: Any) -> bytes:
        raise NotImplementedError

    def decode_result(self, data: bytes) -> tuple[bool, Any]:
        raise NotImplementedError

    def state_machine(self) -> StateMachine:
        """What the router runs under `name`."""
        raise NotImplementedError


class MachineAdapter(Adapter):
    """A `Machine` as a `StateMachine`."""

    def __init__(self, name: str, machine: Machine[Any, Any], applied: Feed[AppliedCommand]):
        self.name = name
        self.target = self.machine = machine
        self._applied = applied
        command_type, self.result_type = machine_types(type(machine))
        self._raw = command_type is bytes
        self._decoder: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(command_type)

    def encode_command(self, command: Any) -> bytes:
        if self._raw:
            if not isinstance(command, bytes):
                raise TypeError(f"machine {self.name!r} takes bytes, not {type(command).__name__}")
            return command
        return _ENCODER.encode(command)

    def decode_result(self, data: bytes) -> tuple[bool, Any]:
        return decode_outcome(data, self.result_type)

    def state_machine(self) -> StateMachine:
        return self

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        machine = self.machine
        command: Any = op
        try:
            if not self._raw:
                command = self._decoder.decode(op)
            machine.context = ctx
            result = machine.apply(command)
            encoded = encode_outcome(True, result)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.debug("machine %s failed a command at slot %d: %s", self.name, ctx.slot, error)
            if self._applied.wanted:
                self._applied.publish(_applied(self.name, ctx, command, error=error))
            return encode_outcome(False, error)
        if self._applied.wanted:
            self._applied.publish(_applied(self.name, ctx, command, result=result))
        return encoded

    def query(self, query: bytes) -> bytes:
        return b""  # reads are functions of the machine (`LocalReads`)

    def snapshot(self) -> bytes:
        return self.machine.snapshot()

    def restore(self, data: bytes) -> None:
        self.machine.restore(data)


class RawAdapter(Adapter):
    """A built-in `StateMachine` (bytes in, bytes out) under a name: registered as it is, so
    that the router still sees whether it is timed."""

    def __init__(self, name: str, machine: StateMachine) -> None:
        self.name = name
        self.target = self.machine = machine

    def encode_command(self, command: Any) -> bytes:
        if not isinstance(command, bytes):
            raise TypeError(f"machine {self.name!r} takes bytes, not {type(command).__name__}")
        return command

    def decode_result(self, data: bytes) -> tuple[bool, Any]:
        return True, data

    def state_machine(self) -> StateMachine:
        return self.machine


def _applied(
    name: str, ctx: ApplyContext, command: Any, *, result: Any = None, error: str | None = None
) -> AppliedCommand:
    return AppliedCommand(
        machine=name,
        slot=ctx.slot,
        time_ms=ctx.time_ms,
        request_id=request_id_of(ctx) if ctx.client_id >= CLIENT_ID_MIN else None,
        command=command,
        result=result,
        error=error,
    )


LOCAL_READS = "~reads"
"""The router name of `LocalReads` (a name no user machine can take: it starts with ~)."""


class LocalReads:
    """Runs read functions in-process when the node answers a read. Holds no replicated state:
    its snapshot is empty, and a command sent to it changes nothing."""

    def __init__(self) -> None:
        self._next = 0
        self._functions: dict[int, Callable[[], Any]] = {}
        self.results: dict[int, tuple[bool, Any]] = {}

    def register(self, function: Callable[[], Any]) -> tuple[int, bytes]:
        """A token for `function`, and the query that runs it."""
        self._next += 1
        self._functions[self._next] = function
        return self._next, self._next.to_bytes(8, "big")

    def forget(self, token: int) -> None:
        self._functions.pop(token, None)
        self.results.pop(token, None)

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        return b""

    def query(self, query: bytes) -> bytes:
        token = int.from_bytes(query, "big")
        function = self._functions.get(token)
        if function is not None:
            try:
                self.results[token] = (True, function())
            except Exception as exc:
                self.results[token] = (False, exc)
        return b""

    def snapshot(self) -> bytes:
        return b""

    def restore(self, data: bytes) -> None:
        pass
