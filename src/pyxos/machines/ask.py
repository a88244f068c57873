"""Write-once values by key: one consensus decision per key (gen_paxos's `ask`).

The first `Ask` with a value decides the key for ever; every later `Ask`, with a value or
without, learns the decided value. `decided_now` tells the one asker whose value won. Keys are
never forgotten: this is a register per key, not a cache.
"""

from __future__ import annotations

import msgspec

from pyxos.machines.base import ApplyContext
from pyxos.machines.codec import MachineCodec, SnapshotCodec
from pyxos.machines.display import show_bad, show_name, show_value

ERROR_BAD_COMMAND = "bad_command"
"""The bytes are not an encoded `Ask`."""
ERROR_NOT_A_QUERY = "not_a_query"
"""`query` got an `Ask` with a value: proposing a value goes through the log."""


class Ask(msgspec.Struct, frozen=True, array_like=True, tag="ask"):
    """Propose `value` for `key` (None: only learn) and learn the decided value."""

    key: str
    value: bytes | None


AskOp = Ask


class AskResult(msgspec.Struct, frozen=True, array_like=True):
    """`value` is the key's decided value (None: nothing decided yet); `decided_now` is True
    for the `Ask` that decided it."""

    ok: bool = True
    error: str | None = None
    key: str = ""
    value: bytes | None = None
    decided_now: bool = False


class _Snapshot(msgspec.Struct, frozen=True, array_like=True, tag="ask1"):
    decided: dict[str, bytes]


_CODEC: MachineCodec[AskOp, AskResult] = MachineCodec(AskOp, AskResult)
_SNAPSHOT = SnapshotCodec(_Snapshot)
_OP_DECODER = _CODEC.op_decoder
_ENCODER = _CODEC.encoder
_BAD_COMMAND = _ENCODER.encode(AskResult(ok=False, error=ERROR_BAD_COMMAND))

encode_op = _CODEC.encode_op
decode_op = _CODEC.decode_op
encode_result = _CODEC.encode_result
decode_result = _CODEC.decode_result


def describe_op(op: bytes) -> str:
    """`op` for a person (`pyxos.machines.display`): `ask k='v'` (propose), `ask k` (learn);
    `bad {hex}` for other bytes."""
    try:
        decoded = _OP_DECODER.decode(op)
    except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
        return show_bad(op)
    if decoded.value is None:
        return f"ask {show_name(decoded.key)}"
    return f"ask {show_name(decoded.key)}={show_value(decoded.value)}"


class AskMachine:
    """The decided values; implements `pyxos.machines.base.StateMachine`."""

    __slots__ = ("_decided",)

    def __init__(self) -> None:
        self._decided: dict[str, bytes] = {}

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        try:
            ask = _OP_DECODER.decode(op)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_COMMAND
        decided = self._decided.get(ask.key)
        if decided is None and ask.value is not None:
            self._decided[ask.key] = ask.value
            return _ENCODER.encode(AskResult(key=ask.key, value=ask.value, decided_now=True))
        return _ENCODER.encode(AskResult(key=ask.key, value=decided))

    def query(self, query: bytes) -> bytes:
        try:
            ask = _OP_DECODER.decode(query)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_COMMAND
        if ask.value is not None:
            return _ENCODER.encode(AskResult(ok=False, error=ERROR_NOT_A_QUERY, key=ask.key))
        return _ENCODER.encode(AskResult(key=ask.key, value=self._decided.get(ask.key)))

    def snapshot(self) -> bytes:
        return _SNAPSHOT.encode(_Snapshot(decided=self._decided))

    def restore(self, data: bytes) -> None:
        """Replace the state; raises `ValueError` on bad bytes and then changes nothing."""
        self._decided = dict(_SNAPSHOT.decode(data).decided)

    def __len__(self) -> int:
        return len(self._decided)
