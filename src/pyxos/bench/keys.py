"""Key distributions: which key the next operation touches, as in Paxi's benchmark.

Every chooser is pure: its randomness is an injected `random.Random`, and the one that moves
with time (normal with a moving mean) is told the elapsed time instead of reading a clock. So a
seed and the elapsed times fix the key sequence exactly. Keys are numbers in `0 .. keys - 1`.

- `uniform`: every key equally likely.
- `order`: keys in turn, 0, 1, 2, ... wrapping at K (each worker starts at its own offset).
- `conflict`: with probability `conflicts`%, the shared key 0; otherwise the worker's next key
  in order over 1 .. K-1 (Paxi's measure of contention between clients).
- `normal`: `N(mu, sigma)` folded into the key space; with `move`, mu steps one key up every
  `speed_ms` (a hot spot that drifts, as in Paxi's WPaxos experiments).
- `zipfian`: P(k) proportional to `(v + k) ** -s` (Go's `rand.Zipf`, which Paxi uses).
- `exponential`: `Exp(lambda)` truncated to an integer and folded into the key space.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from random import Random
from typing import Protocol, assert_never

from pyxos.bench.options import BenchOptions

SEED_STRIDE = 1_000_003
"""Worker w of a run with seed s draws from `Random(s * SEED_STRIDE + w)`."""


class KeyChooser(Protocol):
    def next(self, elapsed_ms: int) -> int:
        """The next key, `elapsed_ms` after the run started."""
        ...


class UniformKeys:
    def __init__(self, keys: int, rng: Random) -> None:
        self._keys = keys
        self._rng = rng

    def next(self, elapsed_ms: int) -> int:
        return self._rng.randrange(self._keys)


class OrderKeys:
    def __init__(self, keys: int, start: int) -> None:
        self._keys = keys
        self._next = start % keys

    def next(self, elapsed_ms: int) -> int:
        key = self._next
        self._next = (key + 1) % self._keys
        return key


class ConflictKeys:
    def __init__(self, keys: int, conflicts: int, rng: Random, start: int) -> None:
        self._conflicts = conflicts
        self._rng = rng
        self._others = OrderKeys(keys - 1, start) if keys > 1 else None

    def next(self, elapsed_ms: int) -> int:
        if self._others is None or self._rng.randrange(100) < self._conflicts:
            return 0
        return 1 + self._others.next(elapsed_ms)


class NormalKeys:
    def __init__(
        self, keys: int, mu: float, sigma: float, rng: Random, *, speed_ms: int | None
    ) -> None:
        self._keys = keys
        self._mu = mu
        self._sigma = sigma
        self._rng = rng
        self._speed_ms = speed_ms

    def mean(self, elapsed_ms: int) -> float:
        """The distribution's mean at `elapsed_ms` (it moves only with `speed_ms`)."""
        if self._speed_ms is None:
            return self._mu
        return (self._mu + elapsed_ms // self._speed_ms) % self._keys

    def next(self, elapsed_ms: int) -> int:
        return int(self._rng.gauss(self.mean(elapsed_ms), self._sigma)) % self._keys


class ZipfKeys:
    def __init__(self, cdf: Sequence[float], rng: Random) -> None:
        self._cdf = cdf
        self._rng = rng

    def next(self, elapsed_ms: int) -> int:
        # The last entry is exactly 1.0, so the index is always < len(cdf).
        return bisect.bisect_right(self._cdf, self._rng.random())


def zipf_cdf(keys: int, s: float, v: float) -> list[float]:
    """The cumulative distribution of `(v + k) ** -s` over `k = 0 .. keys - 1`, normalised so
    that the last entry is exactly 1.0."""
    weights = [(v + k) ** -s for k in range(keys)]
    total = sum(weights)
    cdf = [w / total for w in itertools.accumulate(weights)]
    cdf[-1] = 1.0
    return cdf


class ExponentialKeys:
    def __init__(self, keys: int, lambda_: float, rng: Random) -> None:
        self._keys = keys
        self._lambda = lambda_
        self._rng = rng

    def next(self, elapsed_ms: int) -> int:
        return int(self._rng.expovariate(1.0) / self._lambda) % self._keys


def worker_random(seed: int, worker: int) -> Random:
    """The random stream of worker `worker` in a run seeded `seed`."""
    return Random(seed * SEED_STRIDE + worker)


def key_choosers(options: BenchOptions, rngs: Sequence[Random]) -> list[KeyChooser]:
    """One chooser per worker, drawing from that worker's own stream (`worker_random`), so that
    what one worker draws does not depend on how the others were scheduled."""
    keys = options.keys
    workers = len(rngs)
    zipfian = options.distribution == "zipfian"
    cdf = zipf_cdf(keys, options.zipf_s, options.zipf_v) if zipfian else []
    choosers: list[KeyChooser] = []
    for w, rng in enumerate(rngs):
        start = w * keys // workers
        match options.distribution:
            case "uniform":
                choosers.append(UniformKeys(keys, rng))
            case "order":
                choosers.append(OrderKeys(keys, start))
            case "conflict":
                spread = w * max(keys - 1, 1) // workers
                choosers.append(ConflictKeys(keys, options.conflicts, rng, spread))
            case "normal":
                speed = options.speed_ms if options.move else None
                choosers.append(NormalKeys(keys, options.mu, options.sigma, rng, speed_ms=speed))
            case "zipfian":
                choosers.append(ZipfKeys(cdf, rng))
            case "exponential":
                choosers.append(ExponentialKeys(keys, options.lambda_, rng))
            case _:
                assert_never(options.distribution)
    return choosers
