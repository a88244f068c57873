"""The benchmark's knobs, Paxi's names beside ours, and their validation.

`BenchOptions` is the whole description of one run: a report carries it, so that a figure can
always be traced to the options that produced it. Defaults follow Paxi's benchmark where it has
one (key space 1,000, write ratio 0.5, normal sigma 60, zipfian s=2 v=1, exponential lambda
0.01, the moving mean stepping every 500 ms).
"""

from __future__ import annotations

from typing import Literal, get_args

import msgspec

Distribution = Literal["uniform", "order", "conflict", "normal", "zipfian", "exponential"]
DISTRIBUTIONS: tuple[str, ...] = get_args(Distribution)
Protocol = Literal["fast", "http"]
PROTOCOLS: tuple[str, ...] = get_args(Protocol)

VALUE_BYTES_MIN = 16
"""Room for the unique tag every written value starts with (`<client>.<seq>.`)."""


class OptionsError(ValueError):
    """A knob out of range; the message names it."""


class BenchOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One benchmark run. Times are seconds unless the name says otherwise."""

    duration_s: float = 10.0
    """`-T`: run for this long (0: until `operations` are done)."""
    operations: int = 0
    """`-N`: stop after this many operations in all (0: no limit, `duration_s` decides)."""
    keys: int = 1000
    """`-K`: the key space, keys 0 .. K-1."""
    write_ratio: float = 0.5
    """`-W`: the fraction of operations that are writes (puts); the rest are reads."""
    concurrency: int = 1
    """Closed loop: clients each with one operation in flight. Open loop: the most in flight."""
    throttle: float = 0.0
    """Operations per second in all (0: as fast as answers come). The open loop's rate."""
    open_loop: bool = False
    distribution: Distribution = "uniform"
    conflicts: int = 100
    """`-c`: with `conflict`, the percentage of operations on the shared key 0."""
    mu: float = 0.0
    sigma: float = 60.0
    move: bool = False
    """`normal`: the mean moves one key up every `speed_ms` (wrapping at K)."""
    speed_ms: int = 500
    zipf_s: float = 2.0
    zipf_v: float = 1.0
    lambda_: float = msgspec.field(default=0.01, name="lambda")
    load: bool = False
    """Write every key once before the measured run."""
    value_bytes: int = 100
    protocol: Protocol = "fast"
    consistency: Literal["linearizable", "stale"] = "linearizable"
    warmup_s: float = 0.0
    """Operations in the first `warmup_s` are in the history but not in the latency figures."""
    timeout_s: float = 5.0
    """Deadline of one operation; past it the outcome is unknown (recorded as such)."""
    check: bool = True
    """Check the history for linearizability at the end (Paxi's `LinearizabilityCheck`)."""
    max_states: int = 2_000_000
    seed: int = 1
    """Seeds the key and operation choices (worker w uses its own stream)."""
    key_prefix: str = ""
    """Prepended to every key number; the runner picks a fresh one per run when empty, so a
    history never meets values an earlier run left in a long-lived cluster."""

    def validate(self) -> BenchOptions:
        """Return self, or raise `OptionsError` naming the first bad knob."""
        problems = [
            (self.duration_s < 0, "-T (duration) must not be negative"),
            (self.operations < 0, "-N (operations) must not be negative"),
            (self.duration_s == 0 and self.operations == 0, "give -T or -N (or both)"),
            (self.keys < 1, "-K (keys) must be at least 1"),
            (not 0.0 <= self.write_ratio <= 1.0, "-W (write ratio) must be in [0, 1]"),
            (self.concurrency < 1, "--concurrency must be at least 1"),
            (self.throttle < 0, "--throttle must not be negative"),
            (self.open_loop and self.throttle <= 0, "--open-loop needs --throttle RATE"),
            (self.distribution not in DISTRIBUTIONS, f"--distribution: one of {DISTRIBUTIONS}"),
            (not 0 <= self.conflicts <= 100, "-c (conflicts) must be a percentage, 0..100"),
            (self.sigma <= 0, "--sigma must be positive"),
            (self.speed_ms < 1, "--speed must be at least 1 ms"),
            (self.zipf_s <= 1.0, "--zipf-s must be greater than 1"),
            (self.zipf_v < 1.0, "--zipf-v must be at least 1"),
            (self.lambda_ <= 0, "--lambda must be positive"),
            (self.value_bytes < VALUE_BYTES_MIN, f"--value-size must be >= {VALUE_BYTES_MIN}"),
            (self.protocol not in PROTOCOLS, f"--protocol: one of {PROTOCOLS}"),
            (self.warmup_s < 0, "--warmup must not be negative"),
            (
                0 < self.duration_s <= self.warmup_s,
                "--warmup must be shorter than -T (the duration includes it)",
            ),
            (self.timeout_s <= 0, "--timeout must be positive"),
            (self.max_states < 1, "--max-states must be positive"),
        ]
        for bad, message in problems:
            if bad:
                raise OptionsError(message)
        return self
