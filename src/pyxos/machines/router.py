"""Several state machines on one replicated log, each under a name.

A command for a named machine is a `Routed` envelope, a msgpack array tagged "@":
`["@", name, op]`. Any other bytes go to the default machine, so the key-value store's own
commands (`["put", key, value]`, whose tags never are "@") need no envelope and cost nothing
extra. The clock command (`CLOCK_OP`, an envelope with the empty name) applies to no machine: it
only moves log time forward, so that leases expire and their waiters are woken when no other
command comes (see `TimedMachine`). A read through the log (`read_op(query)`, the name `?`)
answers the query at its place in the log and changes nothing: how a protocol without read
indexes serves a linearizable read.

Objects (`object_of`, for a protocol with a log per object): a command of a machine that names
its objects (`Keyed`, like the key-value store) is in that machine's object; the clock command
and every other machine's commands share one object, `SHARED`, so that time-based machines
(locks) keep one order and one log time with the commands that observe them.

Before each command, every timed machine whose deadline has come is advanced to the command's
time, so expiry happens at the same slot on every replica, before the command that observes it.
A snapshot is every machine's snapshot, by name; restoring needs the same names registered.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from pyxos.machines.base import ApplyContext, Keyed, StateMachine, TimedMachine


class Routed(msgspec.Struct, frozen=True, array_like=True, tag="@"):
    """`op` for the machine registered as `machine` ("" is the clock command)."""

    machine: str
    op: bytes


class RouterError(msgspec.Struct, frozen=True, array_like=True, tag="router_error"):
    """The answer to a command the router could not deliver."""

    error: str


class _Snapshot(msgspec.Struct, frozen=True, array_like=True, tag="router1"):
    machines: dict[str, bytes]


_ENCODER = msgspec.msgpack.Encoder(order="sorted")
_ROUTED = msgspec.msgpack.Decoder(Routed)
_SNAPSHOT = msgspec.msgpack.Decoder(_Snapshot)
# The first bytes of every encoded `Routed`: a 3-element array whose first element is "@".
_PREFIX = b"\x93\xa1@"

READ = "?"
"""The name a read through the log is addressed to (no machine may take it)."""
SHARED = b"@"
"""The object of the clock command and of every machine that does not name its objects."""

CLOCK_OP = _ENCODER.encode(Routed(machine="", op=b""))
_BAD_ENVELOPE = _ENCODER.encode(RouterError(error="bad_envelope"))
_NO_SUCH_MACHINE = _ENCODER.encode(RouterError(error="unknown_machine"))
_NOT_A_READ = _ENCODER.encode(RouterError(error="not_a_read"))


def route(machine: str, op: bytes) -> bytes:
    """`op` addressed to the machine registered as `machine`."""
    if not machine:
        raise ValueError("a machine name is not empty")
    return _ENCODER.encode(Routed(machine=machine, op=op))


def read_op(query: bytes) -> bytes:
    """A command that answers `query` where it lands in the log, and changes nothing."""
    return _ENCODER.encode(Routed(machine=READ, op=query))


def unroute(op: bytes) -> tuple[str, bytes] | None:
    """The machine name and op inside a `Routed` envelope ("" for the clock command), or None
    for bytes that are not one (a command of the default machine). Raises `ValueError` for a
    malformed envelope. (`Router._split` does the same inline: it runs for every command.)"""
    if op[:3] != _PREFIX:
        return None
    routed = _ROUTED.decode(op)  # msgspec.DecodeError, and UnicodeDecodeError, are ValueErrors
    return routed.machine, routed.op


class Router:
    """A `StateMachine` made of named machines; one of them takes unaddressed commands."""

    def __init__(self, machines: Mapping[str, StateMachine], default: str) -> None:
        if default not in machines:
            raise ValueError(f"default machine {default!r} is not among {sorted(machines)}")
        if "" in machines or READ in machines:
            raise ValueError(f"a machine name is not empty and not {READ!r}")
        self.machines = dict(machines)
        self.default = machines[default]
        self._timed = [m for m in machines.values() if isinstance(m, TimedMachine)]

    def _split(self, op: bytes) -> tuple[StateMachine | None, bytes] | bytes:
        """The machine and its op (None: the clock command), or an error answer. A read
        through the log is split into the machine and the query it reads."""
        if op[:3] != _PREFIX:
            return self.default, op
        try:
            routed = _ROUTED.decode(op)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_ENVELOPE
        if not routed.machine:
            return None, b""
        if routed.machine == READ:
            inner = self._split(routed.op)
            return _NOT_A_READ if isinstance(inner, tuple) and inner[0] is None else inner
        machine = self.machines.get(routed.machine)
        if machine is None:
            return _NO_SUCH_MACHINE
        return machine, routed.op

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        if ctx.advance_timed:
            self.advance(ctx)
        if op[:3] == _PREFIX and self._is_read(op):
            return self.query(op)  # a read through the log: answered where it lands
        split = self._split(op)
        if isinstance(split, bytes):
            return split
        machine, inner = split
        if machine is None:
            return b""  # the clock command: time moved, nothing else to do
        return machine.apply(inner, ctx)

    @staticmethod
    def _is_read(op: bytes) -> bool:
        try:
            return _ROUTED.decode(op).machine == READ
        except ValueError:
            return False

    def object_of(self, op: bytes) -> bytes:
        """The object `op` touches (see the module docstring). Never raises."""
        if op[:3] != _PREFIX:
            default = self.default
            return default.object_of(op) if isinstance(default, Keyed) else SHARED
        try:
            routed = _ROUTED.decode(op)
        except ValueError:
            return SHARED
        if routed.machine == READ:
            return self.object_of(routed.op)
        machine = self.machines.get(routed.machine)
        return machine.object_of(routed.op) if isinstance(machine, Keyed) else SHARED

    def query(self, query: bytes) -> bytes:
        split = self._split(query)
        if isinstance(split, bytes):
            return split
        machine, inner = split
        return b"" if machine is None else machine.query(inner)

    def next_deadline_ms(self) -> int | None:
        deadlines = [d for m in self._timed if (d := m.next_deadline_ms()) is not None]
        return min(deadlines, default=None)

    def advance(self, ctx: ApplyContext) -> None:
        """Advance every timed machine whose deadline has come to `ctx.time_ms`.

        With `next_deadline_ms`, this makes the router itself a `TimedMachine`, which is how the
        node knows to propose clock commands for the machines inside it.
        """
        for timed in self._timed:
            deadline = timed.next_deadline_ms()
            if deadline is not None and deadline <= ctx.time_ms:
                timed.advance(ctx)

    def snapshot(self) -> bytes:
        return _ENCODER.encode(
            _Snapshot(machines={name: m.snapshot() for name, m in self.machines.items()})
        )

    def restore(self, data: bytes) -> None:
        try:
            snapshot = _SNAPSHOT.decode(data)
        except ValueError as exc:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            raise ValueError(f"bad router snapshot: {exc}") from exc
        if set(snapshot.machines) != set(self.machines):
            raise ValueError(
                f"snapshot has machines {sorted(snapshot.machines)}, "
                f"this node runs {sorted(self.machines)}"
            )
        for name, data_ in snapshot.machines.items():
            self.machines[name].restore(data_)
