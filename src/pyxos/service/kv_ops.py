"""The key-value operations the routes need, over a node's runner: encode, run, decode.

One place turns `KvOp`s into runner calls and checks the machine's answer, so that the three
route families (`/v1`, GoPaxos, Paxi) cannot disagree on what a put or a read means.
"""

from __future__ import annotations

from pyxos.core.ids import Slot
from pyxos.machines import locks
from pyxos.machines.kv import (
    Cas,
    Delete,
    Get,
    KvList,
    KvOp,
    KvResult,
    List,
    Noop,
    Put,
    decode_list,
    decode_result,
    encode_op,
)
from pyxos.runtime.lease_waits import lock_op
from pyxos.runtime.runner import NodeRunner
from pyxos.service.errors import ApiError


class KvStore:
    """Typed key-value calls on one node. Every call raises what `NodeRunner` raises
    (`Unavailable`, `Timeout`), and `ApiError("internal")` if the machine refuses a
    command we built (only a bug of ours can cause that)."""

    def __init__(self, runner: NodeRunner) -> None:
        self.runner = runner

    async def get(self, key: str, *, linearizable: bool = True) -> bytes | None:
        answer = await self.runner.read(encode_op(Get(key=key)), linearizable=linearizable)
        return _check(decode_result(answer)).value

    async def put(
        self, key: str, value: bytes, *, session: tuple[int, int] | None = None
    ) -> bytes | None:
        """Set `key`; its previous value."""
        answer = await self.runner.write(encode_op(Put(key=key, value=value)), session=session)
        return _check(decode_result(answer)).value

    async def put_at(
        self, key: str, value: bytes, *, session: tuple[int, int] | None = None
    ) -> tuple[bytes | None, Slot]:
        """Like `put`, and the slot that holds the write: 0 if the session had been answered
        before (a retry answered from the session table), see `NodeRunner.write_at`."""
        answer, slot = await self.runner.write_at(
            encode_op(Put(key=key, value=value)), session=session
        )
        return _check(decode_result(answer)).value, slot

    async def delete(self, key: str) -> bytes | None:
        """Remove `key`; its previous value."""
        return _check(decode_result(await self.runner.write(encode_op(Delete(key=key))))).value

    async def cas(self, key: str, expected: bytes | None, value: bytes) -> KvResult:
        """`ok` says whether it matched; `value` is the value before, matched or not."""
        op = Cas(key=key, expected=expected, value=value)
        return _check(decode_result(await self.runner.write(encode_op(op))), cas=True)

    async def guarded(self, fence: tuple[str, int], op: KvOp) -> KvResult:
        """Apply the write `op` only if `fence = (lock, token)` is the lock's current unexpired
        grant; else `ApiError("stale_token")` and nothing is written."""
        lock, token = fence
        guarded = locks.Guarded(lock=lock, token=token, op=encode_op(op))
        result = locks.decode_result(await self.runner.write(lock_op(guarded)))
        if result.error == locks.ERROR_STALE_TOKEN:
            current = result.token if result.holder is not None else None
            raise ApiError(
                "stale_token",
                f"token {token} is not the current grant of lock {lock!r}; nothing was written",
                extra={"lock": lock, "token": token, "current_token": current},
            )
        if not result.ok or result.protected is None:
            raise ApiError("internal", f"the lock machine refused the command: {result.error}")
        return _check(decode_result(result.protected))

    async def noop(self) -> None:
        _check(decode_result(await self.runner.write(encode_op(Noop()))))

    async def list(
        self, prefix: str, limit: int, *, after: str = "", linearizable: bool = True
    ) -> KvList:
        """The keys starting with `prefix` and greater than `after`, at most `limit`."""
        answer = await self.runner.read(
            encode_op(List(prefix=prefix, limit=limit, after=after)), linearizable=linearizable
        )
        try:
            return decode_list(answer)
        except ValueError:
            _check(decode_result(answer))  # an error answer: report it
            raise ApiError("internal", "the state machine answered a list badly") from None

    @property
    def applied_index(self) -> Slot:
        return self.runner.node.applied_upto

    @property
    def ballot(self) -> str:
        return str(self.runner.node.promised)


def _check(result: KvResult, *, cas: bool = False) -> KvResult:
    if result.error is not None or (not result.ok and not cas):
        raise ApiError("internal", f"the state machine refused the command: {result.error}")
    return result
