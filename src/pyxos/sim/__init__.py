"""The deterministic simulator: one thread, a virtual clock, one seeded `random.Random` per run.

`run_seed(seed, **overrides)` expands the seed into `SimOptions`, builds a cluster of real
`pyxos.node.node.Node`s over a simulated network and simulated disks, runs a fault phase (clients
issue operations while faults fire) and a convergence phase (everything healed, the pending
operations must finish and the nodes must agree), and returns a `SimResult` with the checkers'
violations, coverage counters, statistics and the client history. The same seed gives the same
run, byte for byte, whatever `PYTHONHASHSEED` is.
"""

from pyxos.sim.options import SimOptions, expand_options
from pyxos.sim.result import SimResult, SimStats
from pyxos.sim.runner import fit_overrides, run_seed, run_with_options

__all__ = [
    "SimOptions",
    "SimResult",
    "SimStats",
    "expand_options",
    "fit_overrides",
    "run_seed",
    "run_with_options",
]
