"""The leader clock: the time a leader stamps on the commands it proposes.

A leader reads time only from `Tick(now_ms)`, its driver's monotonic clock, which means nothing
on another node: each machine's monotonic clock starts at its own boot. So when a leader takes
over it continues the log's time instead of starting its own: its first stamp is the highest
stamp it has seen in the log, and from there its stamps advance at the rate of its own clock.
The time between the old leader's last stamp and the new leader's first one (the failover) is
not counted, so a lease can only last longer than its TTL in log time, never shorter: the safe
direction for a holder that times its lease from its own clock.

Stamps never go backwards within a leader's term; across terms the state machine takes the
maximum of the stamps it applies, so log time is monotonic on every replica.

A bounded step. The driver's clock is trusted to run at the rate of real time, not to be
continuous: a monotonic clock that jumps (a suspended virtual machine resumed, a broken clock
source) would otherwise move log time by the whole jump at once and end every lease early. So
one tick moves the clock by at most `step_ms_max`; a longer gap between two ticks (a jump, or a
stall of the event loop) counts as `step_ms_max`. Log time can then only fall behind real time,
which makes leases last longer, never shorter: the safe direction.
"""

from __future__ import annotations


class LeaderClock:
    """Log time for one replica: what it has seen, and the stamps it gives while it leads."""

    __slots__ = ("_driver_ms", "_last", "_offset", "now_ms", "seen_ms", "step_ms_max")

    def __init__(self, step_ms_max: int = 1 << 62) -> None:
        self.now_ms = 0  # the driver's clock as counted here: advanced by at most a step a tick
        self.seen_ms = 0  # the highest stamp in any value this replica learned or was told of
        self.step_ms_max = step_ms_max
        self._driver_ms: int | None = None  # the driver's clock at the last tick
        self._offset = 0
        self._last = 0

    def advance(self, driver_ms: int) -> None:
        """A tick at the driver's time `driver_ms`: move `now_ms` by the time passed since the
        previous tick, at most `step_ms_max` (never backwards)."""
        previous = self._driver_ms
        self._driver_ms = driver_ms
        if previous is None:
            self.now_ms = driver_ms
            return
        passed = driver_ms - previous
        if passed > 0:
            self.now_ms += min(passed, self.step_ms_max)

    def see(self, time_ms: int) -> None:
        self.seen_ms = max(self.seen_ms, time_ms)

    def start_term(self) -> None:
        """A new leader term: continue from the highest stamp seen."""
        self._offset = self.seen_ms - self.now_ms
        self._last = self.seen_ms

    def peek(self) -> int:
        """What `stamp` would give now, without giving it."""
        t = self.now_ms + self._offset
        return t if t > self._last else self._last

    def stamp(self) -> int:
        """The time to stamp on a batch proposed now; never below the previous stamp."""
        self._last = t = self.peek()
        return t
