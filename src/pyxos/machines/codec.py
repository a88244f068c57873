"""The msgpack codecs a machine module builds once, at import.

`apply` runs for every command on every replica, so a machine never builds an encoder or decoder
per call: its module makes one `MachineCodec` (operations and results) and, if its snapshot is a
tagged Struct of plain collections, one `SnapshotCodec`. The module's public `encode_op`,
`decode_op`, `encode_result` and `decode_result` are the `MachineCodec`'s bound methods, and its
`apply` and `query` use `op_decoder` and `encoder` directly, with no call in between.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

OpT = TypeVar("OpT")
ResultT = TypeVar("ResultT")
SnapshotT = TypeVar("SnapshotT")


class MachineCodec(Generic[OpT, ResultT]):
    """The codec of one machine's operations (`OpT`, often a union of tagged Structs) and
    results (`ResultT`). Annotate the instance, `MachineCodec[KvOp, KvResult]`: a union passed
    as `op_type` does not let mypy infer `OpT`."""

    __slots__ = ("encoder", "op_decoder", "result_decoder")

    def __init__(self, op_type: Any, result_type: type[ResultT]) -> None:
        self.op_decoder: msgspec.msgpack.Decoder[OpT] = msgspec.msgpack.Decoder(op_type)
        self.result_decoder = msgspec.msgpack.Decoder(result_type)
        self.encoder = msgspec.msgpack.Encoder()

    def encode_op(self, op: OpT) -> bytes:
        return self.encoder.encode(op)

    def decode_op(self, data: bytes) -> OpT:
        """Decode an operation; raises `ValueError` (a `msgspec.DecodeError`) on bad bytes."""
        return self.op_decoder.decode(data)

    def encode_result(self, result: ResultT) -> bytes:
        return self.encoder.encode(result)

    def decode_result(self, data: bytes) -> ResultT:
        """Decode a result; raises `ValueError` (a `msgspec.DecodeError`) on bad bytes."""
        return self.result_decoder.decode(data)


class SnapshotCodec(Generic[SnapshotT]):
    """The codec of one machine's snapshot. Sorted keys make the snapshot a function of the
    state alone, not of the order its dicts were filled in."""

    __slots__ = ("_decoder", "_encoder")

    def __init__(self, snapshot_type: type[SnapshotT]) -> None:
        self._decoder = msgspec.msgpack.Decoder(snapshot_type)
        self._encoder = msgspec.msgpack.Encoder(order="sorted")

    def encode(self, snapshot: SnapshotT) -> bytes:
        return self._encoder.encode(snapshot)

    def decode(self, data: bytes) -> SnapshotT:
        """Decode a snapshot; raises `ValueError` (a `msgspec.DecodeError`) on bad bytes."""
        return self._decoder.decode(data)
