"""Client traffic: when the simulated clients send, retry and hear back.

Each `SimClient` (`pyxos.sim.clients`) decides what to send; this module drives them on the
virtual clock. A client waits a random think time, invokes its next operation and sends it
through the network to a node, with a timeout; on the timeout it retries, on the first reply the
operation completes and the next think time starts. Issuing stops when the runner enters the
convergence phase (`issuing` becomes False); pending operations still retry until answered.
Acknowledged writes are recorded for the end-of-run check that none of them was lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from random import Random

from pyxos.check.history import Operation
from pyxos.check.objects import ObjectOp
from pyxos.node.client_messages import ClientInbound, ClientOutbound, ClientRequest
from pyxos.node.io import FromClient
from pyxos.sim.clients import SimClient
from pyxos.sim.events import CLIENT_NEXT, CLIENT_TIMEOUT, DELIVER, EventQueue
from pyxos.sim.network import SimNetwork
from pyxos.sim.options import (
    WORKLOAD_ELECTION,
    WORKLOAD_KV,
    WORKLOAD_LOCK,
    WORKLOAD_QUEUE,
    SimOptions,
)
from pyxos.sim.transcript import CLIENT_ADDRESS_BASE, Transcript
from pyxos.sim.workloads import ElectionClient, LockClient, ObjectClient, QueueClient

AnyClient = SimClient | ObjectClient
_OBJECT_CLIENTS: dict[int, type[ObjectClient]] = {
    WORKLOAD_LOCK: LockClient,
    WORKLOAD_ELECTION: ElectionClient,
    WORKLOAD_QUEUE: QueueClient,
}


def build_clients(
    options: SimOptions, members: tuple[int, ...], rng: Random
) -> dict[int, AnyClient]:
    """The clients of the seed's workload by address, sharing out `options.ops`; each one's
    generator is drawn from `rng` in address order."""
    keys = tuple(f"k{i}" for i in range(1, options.keys + 1))
    clients: dict[int, AnyClient] = {}
    for index in range(options.clients):
        address = CLIENT_ADDRESS_BASE + index + 1
        share = options.ops // options.clients + (index < options.ops % options.clients)
        client_rng = Random(rng.getrandbits(64))
        if options.workload == WORKLOAD_KV:
            clients[address] = SimClient(
                address,
                client_rng,
                nodes=members,
                keys=keys,
                ops=share,
                timeout_us_min=options.client_timeout_us_min,
                timeout_us_max=options.client_timeout_us_max,
            )
        else:
            clients[address] = _OBJECT_CLIENTS[options.workload](
                address,
                client_rng,
                nodes=members,
                ops=share,
                timeout_us_min=options.client_timeout_us_min,
                timeout_us_max=options.client_timeout_us_max,
            )
    return clients


def think_us_max(options: SimOptions) -> int:
    """The longest think time: it spreads each client's share of the operations over about three
    quarters of the fault phase (plus the operations' own latency)."""
    return max(1, options.fault_phase_us * options.clients * 3 // max(1, 2 * options.ops))


class ClientTraffic:
    """Drives the clients: think time, send, timeout and retry, reply.

    `acked` lists `(client_id, seq, time_us)` for every write acknowledged to its client.
    """

    __slots__ = (
        "_think_rng",
        "_think_us_max",
        "acked",
        "clients",
        "issuing",
        "network",
        "queue",
        "transcript",
    )

    def __init__(
        self,
        clients: dict[int, AnyClient],
        *,
        queue: EventQueue,
        network: SimNetwork,
        transcript: Transcript | None,
        think_rng: Random,
        think_us_max: int,
    ) -> None:
        self.clients = clients
        self.queue = queue
        self.network = network
        self.transcript = transcript
        self._think_rng = think_rng
        self._think_us_max = think_us_max
        self.acked: list[tuple[int, int, int]] = []
        self.issuing = True  # False from the convergence phase on: no new operations

    def start(self) -> None:
        """Schedule each client's first operation after a think time."""
        for client in self.clients.values():
            self.queue.push(self._think_us(), CLIENT_NEXT, client.address, None)

    def all_issued(self) -> bool:
        return all(c.ops_left <= 0 for c in self.clients.values())

    def ops_left(self) -> int:
        """How many operations the clients have still to issue."""
        return sum(c.ops_left for c in self.clients.values())

    def _think_us(self) -> int:
        return int(self._think_rng.random() * self._think_us_max)

    # ---- events -----------------------------------------------------------------------------
    def on_next(self, client: AnyClient) -> None:
        """The client's think time is over: invoke its next operation, if it has one."""
        if not self.issuing or client.in_flight or client.ops_left <= 0:
            return
        request = client.start(self.queue.now_us)
        if self.transcript is not None:
            self.transcript.add(
                self.queue.now_us, f"c{client.address} invoke {client.op_number} {request!r}"
            )
        self._send(client, request)

    def on_timeout(self, client: AnyClient, op_number: int, attempt: int) -> None:
        """Retry the operation, unless this timeout is for an attempt already answered."""
        if not client.in_flight or client.op_number != op_number or client.attempt != attempt:
            return
        request = client.retry()
        if self.transcript is not None:
            self.transcript.add(
                self.queue.now_us,
                f"c{client.address} retry {op_number} attempt {client.attempt} to n{client.target}",
            )
        self._send(client, request)

    def _send(self, client: AnyClient, request: ClientInbound) -> None:
        now = self.queue.now_us
        target = client.target
        delays = self.network.transit(client.address, target)
        if delays:
            inp = FromClient(sender=client.address, message=request)
            for delay in delays:
                self.queue.push(now + delay, DELIVER, target, inp)
        self.queue.push(
            now + client.timeout_us(),
            CLIENT_TIMEOUT,
            client.address,
            (client.op_number, client.attempt),
        )

    def on_reply(self, client: AnyClient, sender: int, message: ClientOutbound) -> None:
        """A node's answer reached the client; the first one completes the operation."""
        request = client.request
        now = self.queue.now_us
        if not client.on_reply(now, sender, message):
            return
        if isinstance(request, ClientRequest):
            self.acked.append((request.client_id, request.seq, now))
        if self.transcript is not None:
            op = client.history[-1]
            self.transcript.add(
                now, f"c{client.address} complete {client.op_number} output={op.output!r}"
            )
        if client.ops_left > 0 and self.issuing:
            self.queue.after(self._think_us(), CLIENT_NEXT, client.address, None)

    # ---- the end ----------------------------------------------------------------------------
    def pending(self) -> list[Operation | ObjectOp]:
        """The operations still waiting for an answer, by client address."""
        return [op for c in self.clients.values() if (op := c.pending()) is not None]

    def history(self) -> list[Operation]:
        """Every KV client's operations (pending ones too), by invocation time."""
        ops: list[Operation] = []
        for address in sorted(self.clients):
            client = self.clients[address]
            if not isinstance(client, SimClient):
                continue
            ops.extend(client.history)
            pending = client.pending()
            if pending is not None:
                ops.append(pending)
        ops.sort(key=lambda op: (op.invoke, op.client))
        return ops

    def object_history(self, times: Mapping[tuple[int, int], int]) -> list[ObjectOp]:
        """Every workload client's operations with their log times (`times`: `(client, seq)`
        -> the log time its command was applied at), by invocation time."""
        ops: list[ObjectOp] = []
        for address in sorted(self.clients):
            client = self.clients[address]
            if isinstance(client, ObjectClient):
                ops.extend(client.timed_history(times))
        ops.sort(key=lambda op: (op.invoke, op.client))
        return ops

    def counts(self) -> dict[str, int]:
        """What the workload clients counted, summed over the clients."""
        total: dict[str, int] = {}
        for client in self.clients.values():
            if isinstance(client, ObjectClient):
                for name, count in client.counts.items():
                    total[name] = total.get(name, 0) + count
        return total
