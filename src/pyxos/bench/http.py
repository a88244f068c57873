"""HTTP as a benchmark transport: `PUT` and `GET /v1/kv/{key}` with aiohttp.

Worker w talks to node `w mod n` of the n endpoints, over keep-alive connections: every node
serves reads and forwards writes to the leader, so spreading the clients spreads the HTTP work
(parsing, JSON) over every node's event loop instead of pinning the leader's. Reads are
linearizable unless the options ask for `stale`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from urllib.parse import quote

import aiohttp
import msgspec

from pyxos.bench.transport import OpFailed


class _PutAnswer(msgspec.Struct):
    previous: str | None = None
    previous_encoding: str = "utf-8"


class _GetAnswer(msgspec.Struct):
    value: str
    encoding: str = "utf-8"


class _Error(msgspec.Struct):
    code: str = "error"
    message: str = ""


_PUT = msgspec.json.Decoder(_PutAnswer)
_GET = msgspec.json.Decoder(_GetAnswer)
_ERROR = msgspec.json.Decoder(_Error)


class HttpTransport:
    def __init__(
        self, endpoints: Sequence[str], *, workers: int, timeout_s: float, consistency: str
    ) -> None:
        if not endpoints:
            raise ValueError("no HTTP endpoint given")
        self._bases = [e if "://" in e else f"http://{e}" for e in endpoints]
        self._query = "" if consistency == "linearizable" else f"?consistency={consistency}"
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._workers = workers
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            # One keep-alive connection per worker at most: a closed-loop worker has one
            # request in flight.
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, force_close=False)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, skip_auto_headers=("User-Agent",)
            )
        return self._session

    def _url(self, worker: int, key: str) -> str:
        return f"{self._bases[worker % len(self._bases)]}/v1/kv/{quote(key, safe='')}"

    async def put(self, worker: int, key: str, value: bytes) -> bytes | None:
        body = await self._request("PUT", self._url(worker, key), value)
        if body is None:
            raise OpFailed("protocol", "a put answered key_not_found")
        answer = _PUT.decode(body)
        if answer.previous is None:
            return None
        return _decoded(answer.previous, answer.previous_encoding)

    async def get(self, worker: int, key: str) -> bytes | None:
        body = await self._request("GET", self._url(worker, key) + self._query, None)
        if body is None:
            return None
        answer = _GET.decode(body)
        return _decoded(answer.value, answer.encoding)

    async def _request(self, method: str, url: str, data: bytes | None) -> bytes | None:
        """The body of a 200 answer; None for `key_not_found`; `OpFailed` for anything else."""
        try:
            async with self._http().request(method, url, data=data) as response:
                body = await response.read()
                status = response.status
        except TimeoutError:
            raise OpFailed("timeout", f"no answer within {self._timeout.total}s") from None
        except aiohttp.ClientError as exc:
            raise OpFailed("connection", str(exc)) from None
        if status == 200:
            return body
        try:
            error = _ERROR.decode(body)
        except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for bad UTF-8
            raise OpFailed(f"http_{status}") from None
        if error.code == "key_not_found":
            return None
        raise OpFailed(error.code, error.message)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _decoded(text: str, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.b64decode(text)
    return text.encode()
