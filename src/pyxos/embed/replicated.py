"""Methods as replicated commands: PySyncObj's `@replicated`, typed and without pickle.

A `Replicated` class marks the methods that change its state with `@replicated`. Calling one
through a node (`await node.call(Counter.add, 5)`, or `node.propose(Call(Counter.add, 5))` to
retry it under its `request_id`) encodes the call as msgpack
`[method name, [arguments]]`, replicates it, and runs the method on every replica; the
arguments are decoded with the method's own type hints, so they must be types msgspec knows
(numbers, strings, bytes, Structs, lists, dicts, ...), and so must the return value.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import msgspec

from pyxos.embed.events import AppliedCommand, Feed
from pyxos.embed.machine import Adapter, decode_outcome, encode_outcome, request_id_of
from pyxos.machines.base import ApplyContext, StateMachine
from pyxos.runtime.requests import CLIENT_ID_MIN

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")
P = ParamSpec("P")

_MARK = "__pyxos_replicated__"
_ENCODER = msgspec.msgpack.Encoder()
_CALL = msgspec.msgpack.Decoder(tuple[str, msgspec.Raw])


def replicated(method: F) -> F:
    """Mark `method` of a `Replicated` class as a command: it runs on every replica, in log
    order, when called through a node."""
    setattr(method, _MARK, True)
    return method


class Replicated:
    """A state machine whose `@replicated` methods are its commands.

    Define `snapshot` and `restore`, as for `Machine`; `self.context` is the `ApplyContext` of
    the call being applied.
    """

    context: ApplyContext = ApplyContext(slot=0, time_ms=0)

    def snapshot(self) -> bytes:
        raise NotImplementedError

    def restore(self, data: bytes) -> None:
        raise NotImplementedError


class Call(Generic[R]):
    """One call of a `@replicated` method, as a command to propose:
    `await node.propose(Call(Counter.add, 5), request_id=...)`.

    Typed like the method: a type checker sees its parameters, and `propose` returns its
    result type. The arguments are checked against the method's signature when proposed."""

    __slots__ = ("args", "kwargs", "method")

    def __init__(
        self, method: Callable[Concatenate[Any, P], R], /, *args: P.args, **kwargs: P.kwargs
    ) -> None:
        self.method: Callable[..., R] = method
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        shown = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        name = getattr(self.method, "__qualname__", self.method)
        return f"Call({name}, {', '.join(shown)})" if shown else f"Call({name})"


class _Method:
    __slots__ = ("args", "function", "name", "result_type", "signature")

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.name = function.__name__
        self.signature = inspect.signature(function)
        hints = typing.get_type_hints(function)
        params = list(self.signature.parameters.values())[1:]  # after self
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"@replicated {self.name}: *args and **kwargs are not supported")
        types = tuple(hints.get(p.name, Any) for p in params)
        self.args: msgspec.msgpack.Decoder[Any] = msgspec.msgpack.Decoder(
            tuple[types] if types else tuple[()]  # type: ignore[valid-type]
        )
        self.result_type = hints.get("return", Any)


def replicated_methods(cls: type) -> dict[str, _Method]:
    methods = {}
    for name in dir(cls):
        attribute = getattr(cls, name, None)
        if callable(attribute) and getattr(attribute, _MARK, False):
            methods[name] = _Method(attribute)
    if not methods:
        raise TypeError(f"{cls.__name__} has no @replicated method")
    return methods


class ReplicatedAdapter(Adapter):
    """A `Replicated` object as a `StateMachine`."""

    def __init__(self, name: str, machine: Replicated, applied: Feed[AppliedCommand]) -> None:
        self.name = name
        self.target = self.machine = machine
        self._applied = applied
        self.methods = replicated_methods(type(machine))
        self._by_function = {m.function: m for m in self.methods.values()}

    def owns(self, function: Callable[..., Any]) -> bool:
        return function in self._by_function

    def encode_call(self, function: Callable[..., Any], args: Any, kwargs: Any) -> bytes:
        """The command that calls `function(machine, *args, **kwargs)`; `TypeError` if the
        arguments do not fit its signature."""
        method = self._by_function[function]
        bound = method.signature.bind(self.machine, *args, **kwargs)
        bound.apply_defaults()
        return _ENCODER.encode((method.name, bound.args[1:]))

    def result_type_of(self, function: Callable[..., Any]) -> Any:
        return self._by_function[function].result_type

    def encode_command(self, command: Any) -> bytes:
        raise TypeError(f"machine {self.name!r} is called with node.call(Class.method, ...)")

    def decode_result(self, data: bytes) -> tuple[bool, Any]:
        return decode_outcome(data, Any)

    def state_machine(self) -> StateMachine:
        return self

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        machine = self.machine
        call: Any = op
        try:
            name, raw = _CALL.decode(op)
            method = self.methods.get(name)
            if method is None:
                raise ValueError(f"no @replicated method {name!r}")
            args = method.args.decode(raw)
            call = (name, args)
            machine.context = ctx
            result = method.function(machine, *args)
            encoded = encode_outcome(True, result)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.debug("machine %s failed a call at slot %d: %s", self.name, ctx.slot, error)
            self._notify(ctx, call, None, error)
            return encode_outcome(False, error)
        self._notify(ctx, call, result, None)
        return encoded

    def _notify(self, ctx: ApplyContext, call: Any, result: Any, error: str | None) -> None:
        if self._applied.wanted:
            rid = request_id_of(ctx) if ctx.client_id >= CLIENT_ID_MIN else None
            self._applied.publish(
                AppliedCommand(
                    machine=self.name,
                    slot=ctx.slot,
                    time_ms=ctx.time_ms,
                    request_id=rid,
                    command=call,
                    result=result,
                    error=error,
                )
            )

    def query(self, query: bytes) -> bytes:
        return b""

    def snapshot(self) -> bytes:
        return self.machine.snapshot()

    def restore(self, data: bytes) -> None:
        self.machine.restore(data)
