"""Side by side: the same workload against pyxos, etcd and PySyncObj on this machine.

Theory of operation. Each system has an adapter (`pyxos_adapter`, `etcd_adapter`,
`pysyncobj_adapter`) that starts a 3-member cluster on loopback in a temporary directory, polls
with a deadline until it serves and its leader is known, hands out benchmark transports (the
`pyxos.bench.transport.Transport` that `pyxos.bench.workload.Workload` drives) and the member
processes' ids, and stops the members. `driver` runs the same closed loop against each:
writes, then linearizable reads after a load phase, at each client count, and reads the members'
CPU time from /proc (`cpu`) over the measured window. `table` turns the rows into the markdown
table with ratios to pyxos; `command` is `pyxos bench peers`.
"""
