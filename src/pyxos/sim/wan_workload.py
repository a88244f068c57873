"""The wide-area benchmark's clients: closed loops in each zone, keys chosen as Paxi chooses them.

Every client lives in one zone and talks to the nodes of that zone only. As in Paxi's
benchmark, where a zone's clients share one client process bound to one node, a client sends
to its zone's first node (`nodes[0]`); on a timeout it retries at another node of its zone, as
the simulator's clients do, and stays with the node that answered it last. Its next
operation is a put with probability `write_ratio`, else a linearizable get, of a key its zone's
`KeyChooser` draws:

- `uniform`: any of the `keys` keys;
- `normal`: `N(mu, sigma)` folded into the key space, `mu` at the centre of the zone's band
  (zone z of Z owns keys `z * keys / Z` up to the next band); with `speed_us`, `mu` moves up one
  key every `speed_us` (Paxi's `Move`), so the load drifts from zone to zone;
- `conflict`: the hot key 0 with probability `conflict_percent`, else the client's own key
  (one per client, never shared), as in EPaxos and Paxi's `conflict` measure.

Every written value is unique (`address.seq`), which keeps the history cheap to check. All
choices come from the client's own generator, in a fixed order: write-or-read, the key, then
the target node (`pyxos.sim.closed_loop`).
"""

from __future__ import annotations

from random import Random
from typing import Protocol

from pyxos.check.history import OpKind
from pyxos.machines.kv import Get, Put, encode_op
from pyxos.node.client_messages import ClientInbound, ClientRead, ClientRequest
from pyxos.sim.clients import SimClient

WORKLOADS = ("uniform", "normal", "conflict")


class KeyChooser(Protocol):
    def next(self, elapsed_us: int) -> int:
        """The next key (a number), `elapsed_us` after the run started."""
        ...


class UniformKeys:
    __slots__ = ("_keys", "_rng")

    def __init__(self, keys: int, rng: Random) -> None:
        self._keys = keys
        self._rng = rng

    def next(self, elapsed_us: int) -> int:
        del elapsed_us
        return int(self._rng.random() * self._keys)


class NormalKeys:
    __slots__ = ("_keys", "_mu", "_rng", "_sigma", "_speed_us")

    def __init__(
        self, keys: int, mu: float, sigma: float, rng: Random, *, speed_us: int | None = None
    ) -> None:
        self._keys = keys
        self._mu = mu
        self._sigma = sigma
        self._rng = rng
        self._speed_us = speed_us

    def mean(self, elapsed_us: int) -> float:
        """The mean at `elapsed_us`: it moves one key per `speed_us`, if set."""
        if self._speed_us is None:
            return self._mu
        return (self._mu + elapsed_us // self._speed_us) % self._keys

    def next(self, elapsed_us: int) -> int:
        mu = self.mean(elapsed_us)
        if not self._sigma:
            return int(mu) % self._keys
        return int(self._rng.gauss(mu, self._sigma)) % self._keys


class ConflictKeys:
    __slots__ = ("_own", "_percent", "_rng")

    def __init__(self, percent: int, own_key: int, rng: Random) -> None:
        self._percent = percent
        self._own = own_key
        self._rng = rng

    def next(self, elapsed_us: int) -> int:
        del elapsed_us
        return 0 if self._rng.random() * 100 < self._percent else self._own


def zone_mean(zone: int, zones: int, keys: int) -> float:
    """The centre of zone `zone`'s band of the key space (zones numbered from 0)."""
    return (zone + 0.5) * keys / zones


class WanClient(SimClient):
    """One closed-loop KV client in one zone."""

    __slots__ = ("_chooser", "_now_us", "_write_ratio", "zone")

    def __init__(
        self,
        address: int,
        rng: Random,
        *,
        zone: int,
        nodes: tuple[int, ...],
        chooser: KeyChooser,
        write_ratio: float,
        ops: int,
        timeout_us_min: int,
        timeout_us_max: int,
    ) -> None:
        super().__init__(
            address,
            rng,
            nodes=nodes,
            keys=(),
            ops=ops,
            timeout_us_min=timeout_us_min,
            timeout_us_max=timeout_us_max,
        )
        self.zone = zone
        self._chooser = chooser
        self._write_ratio = write_ratio
        self._now_us = 0

    def start(self, now_us: int) -> ClientInbound:
        self._now_us = now_us  # the moving mean needs the time of the operation
        request = super().start(now_us)
        # Not a random node of the zone now and then: with the `immediate` policy two nodes
        # of one zone would steal the zone's objects from each other across the wide area.
        self.target = self.last_good if self.last_good is not None else self.nodes[0]
        return request

    def _next_request(self) -> ClientInbound:
        write = self._rng.random() < self._write_ratio
        key = f"k{self._chooser.next(self._now_us)}"
        kind: OpKind = "put" if write else "get"
        self._kind, self._key = kind, key
        self._value = self._expected = None
        if not write:
            self.read_id += 1
            return ClientRead(
                client_id=self.address,
                read_id=self.read_id,
                query=encode_op(Get(key=key)),
                linearizable=True,
            )
        self.seq += 1
        self._value = f"{self.address}.{self.seq}"
        op = Put(key=key, value=self._value.encode())
        return ClientRequest(client_id=self.address, seq=self.seq, op=encode_op(op))
