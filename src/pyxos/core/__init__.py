"""The pure protocol host: no I/O, no clocks, no global randomness.

Shared here: ids and ballots, commands, the inputs and effects of `step` (`io.py`), the
protocol contract (`protocol.py`), quorum systems, the leader clock and the snapshot. Each
protocol is a package beside them (`multipaxos/`), registered by name in `protocols.py`.
"""
