"""pyxos: Multi-Paxos consensus in Python.

The protocol core (`pyxos.core`) is pure: `Replica.step(input) -> effects`. The simulator
(`pyxos.sim`) and, later, the asyncio runtime drive it. `pyxos.check` checks client histories
for linearizability.
"""

__version__ = "0.1.0"
