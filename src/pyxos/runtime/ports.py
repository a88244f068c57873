"""Free loopback ports for local clusters (`pyxos up`, benchmarks, chaos runs, tests).

The ports are all bound at once before any is released, so one call never hands out the same
port twice (binding and closing one socket at a time can give the same ephemeral port again).
Another process may still take a port before the node binds it; a node that cannot bind
fails to start with a clear error, and a harness starts the cluster again.
"""

from __future__ import annotations

import socket


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` different ports on `host` that are free now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((host, 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()
