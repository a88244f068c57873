"""Free loopback ports for local clusters (`pyxos up`, benchmarks, chaos runs, tests).

The ports are all bound at once before any is released, so one call never hands out the same
port twice (binding and closing one socket at a time can give the same ephemeral port again).
Another process may still take a port before the node binds it; a node that cannot bind
fails to start with a clear error, and a harness starts the cluster again.
"""

from __future__ import annotations

import random
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


def free_port_base(count: int, host: str = "127.0.0.1") -> int:
    """A port P such that `pyxos up --base-port P --nodes count` finds its ranges free now: HTTP
    P.., peers P-1000.. and clients P+1000.., `count` ports each."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(22000, 54000)
        ports = [p + k for p in (base - 1000, base, base + 1000) for k in range(count)]
        sockets: list[socket.socket] = []
        try:
            for port in ports:
                s = socket.socket()
                sockets.append(s)
                s.bind((host, port))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base
    raise OSError(f"no free range of {count} ports at P-1000, P and P+1000 on {host}")
