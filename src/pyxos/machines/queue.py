"""FIFO queues by name: push at the tail, peek and pop at the head.

A queue exists while it holds items; popping the last item forgets it, so an empty queue costs
nothing in the state or the snapshot.
"""

from __future__ import annotations

from collections import deque
from typing import assert_never

import msgspec

from pyxos.machines.base import ApplyContext
from pyxos.machines.codec import MachineCodec, SnapshotCodec
from pyxos.machines.display import show_bad, show_name, show_value

ERROR_BAD_COMMAND = "bad_command"
"""The bytes are not an encoded `QueueOp`."""
ERROR_EMPTY = "empty"
"""`Pop` on a queue with no items."""
ERROR_NOT_A_QUERY = "not_a_query"
"""`query` got an operation that would write (anything but `Peek`)."""


class _QueueOp(msgspec.Struct, frozen=True, array_like=True, tag=True):
    pass


class Push(_QueueOp, frozen=True, tag="push"):
    """Append `item` to `queue`."""

    queue: str
    item: bytes


class Peek(_QueueOp, frozen=True, tag="peek"):
    """The head of `queue` without removing it. Through the log or as a query."""

    queue: str


class Pop(_QueueOp, frozen=True, tag="pop"):
    """Remove and return the head of `queue`; `empty` if it has none."""

    queue: str


QueueOp = Push | Peek | Pop


class QueueResult(msgspec.Struct, frozen=True, array_like=True):
    """`item` is the head for `Peek` (None: empty), the removed head for `Pop`, None for `Push`;
    `length` is the queue's length after the operation."""

    ok: bool = True
    error: str | None = None
    item: bytes | None = None
    length: int = 0


class _Snapshot(msgspec.Struct, frozen=True, array_like=True, tag="queue1"):
    queues: dict[str, list[bytes]]


_CODEC: MachineCodec[QueueOp, QueueResult] = MachineCodec(QueueOp, QueueResult)
_SNAPSHOT = SnapshotCodec(_Snapshot)
_OP_DECODER = _CODEC.op_decoder
_ENCODER = _CODEC.encoder
_BAD_COMMAND = _ENCODER.encode(QueueResult(ok=False, error=ERROR_BAD_COMMAND))
_NOT_A_QUERY = _ENCODER.encode(QueueResult(ok=False, error=ERROR_NOT_A_QUERY))

encode_op = _CODEC.encode_op
decode_op = _CODEC.decode_op
encode_result = _CODEC.encode_result
decode_result = _CODEC.decode_result


def describe_op(op: bytes) -> str:
    """`op` for a person (`pyxos.machines.display`): `push q 'item'`, `peek q`, `pop q`;
    `bad {hex}` for other bytes."""
    try:
        decoded = _OP_DECODER.decode(op)
    except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
        return show_bad(op)
    match decoded:
        case Push(queue=queue, item=item):
            return f"push {show_name(queue)} {show_value(item)}"
        case Peek(queue=queue):
            return f"peek {show_name(queue)}"
        case Pop(queue=queue):
            return f"pop {show_name(queue)}"
        case _:
            assert_never(decoded)


class QueueMachine:
    """The queues; implements `pyxos.machines.base.StateMachine`."""

    __slots__ = ("_queues",)

    def __init__(self) -> None:
        self._queues: dict[str, deque[bytes]] = {}

    def apply(self, op: bytes, ctx: ApplyContext) -> bytes:
        try:
            decoded = _OP_DECODER.decode(op)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_COMMAND
        return _ENCODER.encode(self._execute(decoded))

    def query(self, query: bytes) -> bytes:
        try:
            decoded = _OP_DECODER.decode(query)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            return _BAD_COMMAND
        if not isinstance(decoded, Peek):
            return _NOT_A_QUERY
        return _ENCODER.encode(self._execute(decoded))

    def snapshot(self) -> bytes:
        queues = {name: list(items) for name, items in self._queues.items()}
        return _SNAPSHOT.encode(_Snapshot(queues=queues))

    def restore(self, data: bytes) -> None:
        """Replace the state; raises `ValueError` on bad bytes and then changes nothing."""
        queues = _SNAPSHOT.decode(data).queues
        if any(not items for items in queues.values()):
            raise ValueError("bad queue snapshot: an empty queue is never kept")
        self._queues = {name: deque(items) for name, items in queues.items()}

    def __len__(self) -> int:
        return len(self._queues)

    def _execute(self, op: QueueOp) -> QueueResult:
        queues = self._queues
        match op:
            case Push(queue=name, item=item):
                tail = queues.setdefault(name, deque())
                tail.append(item)
                return QueueResult(length=len(tail))
            case Peek(queue=name):
                items = queues.get(name)
                if items is None:
                    return QueueResult()
                return QueueResult(item=items[0], length=len(items))
            case Pop(queue=name):
                items = queues.get(name)
                if items is None:
                    return QueueResult(ok=False, error=ERROR_EMPTY)
                head = items.popleft()
                if not items:
                    del queues[name]
                return QueueResult(item=head, length=len(items))
            case _:
                assert_never(op)
