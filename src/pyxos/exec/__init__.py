"""The one effect executor, shared by the runtime and the simulator (pure: no I/O, no clock).

A node's effects run in list order: messages and replies go out through the `Persist` gate
(`gate.py`), records and snapshots go to the log writer's group-commit policy (`writer.py`),
and observations go to the driver. How a node takes its inputs, a turn at a time with a flush at
the end, is `turns.py`. The driver supplies the I/O: where messages go, and a disk that runs one
write round at a time (the write-ahead log in a worker thread, or the simulated disk in virtual
time) and reports back when it is durable.
"""
