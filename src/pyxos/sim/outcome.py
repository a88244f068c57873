"""The end of a run: whether the cluster converged, the last checks, and the `SimResult`.

The runner asks `is_converged` periodically during the convergence phase: no operation in
flight, every node up with no effect waiting behind a sync, and all of them applied up to the
same slot, which covers every chosen slot. When the loop stops, `final_violations` adds the
liveness violations of a run that did not converge and checks that every acknowledged write is
in the applied log, and `build_result` checks the history's linearizability and gathers the
checkers' violations, the coverage counters and the statistics.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyxos.core.protocols import protocol_spec
from pyxos.core.quorum import QuorumSpec
from pyxos.sim.checkers import (
    AppliedPrefixes,
    ChosenValues,
    MonotoneBallots,
    acked_writes_violations,
)
from pyxos.sim.cluster import Cluster
from pyxos.sim.coverage import Coverage
from pyxos.sim.events import EventQueue
from pyxos.sim.network import SimNetwork
from pyxos.sim.options import SimOptions
from pyxos.sim.result import SimResult, SimStats
from pyxos.sim.traffic import ClientTraffic
from pyxos.sim.transcript import Transcript
from pyxos.sim.verdict import (
    linearizability_violations,
    liveness_violations,
    log_times,
    object_violations,
)


def is_converged(
    cluster: Cluster, traffic: ClientTraffic, chosen: ChosenValues, applied: AppliedPrefixes
) -> bool:
    """Nothing in flight and every node up, each having applied every chosen slot of every
    log (the one log, or each object's)."""
    if any(c.in_flight for c in traffic.clients.values()):
        return False
    for host in cluster.hosts.values():
        if host.node is None or not host.quiet:
            return False
        node_id = host.node_id
        if any(applied.applied_upto(node_id, obj) < upto for obj, upto in chosen.upto.items()):
            return False
    return True


def _applied_total(applied: AppliedPrefixes, node: int, chosen: ChosenValues) -> int:
    """How many chosen slots `node` applied, over every log (the slot, with one log)."""
    return sum(applied.applied_upto(node, obj) for obj in chosen.upto)


def final_violations(
    now_us: int,
    *,
    converged: bool,
    earlier: Sequence[str],
    members: tuple[int, ...],
    cluster: Cluster,
    traffic: ClientTraffic,
    chosen: ChosenValues,
    applied: AppliedPrefixes,
) -> list[str]:
    """The violations found once the loop has stopped at `now_us`.

    Liveness, unless the run converged or `earlier` (the runner's own violations) already has a
    liveness violation; then the acknowledged writes missing from the applied log.
    """
    found: list[str] = []
    if not converged and not any(v.startswith("liveness") for v in earlier):
        pending = traffic.pending()
        applied_upto = {
            h.node_id: (_applied_total(applied, h.node_id, chosen) if h.node is not None else None)
            for h in cluster.hosts.values()
        }
        chosen_total = sum(chosen.upto.values())
        found.extend(liveness_violations(now_us, pending, applied_upto, chosen_total))
    upto = {
        node_id: {obj: applied.applied_upto(node_id, obj) for obj in chosen.upto}
        for node_id in members
    }
    if not converged:
        # Only the log as a whole is meaningful for nodes that did not catch up.
        best = {obj: max(u[obj] for u in upto.values()) for obj in chosen.upto}
        upto = {node_id: best for node_id in members}
    found.extend(acked_writes_violations(traffic.acked, applied.log, upto))
    return found


def build_result(
    options: SimOptions,
    *,
    queue: EventQueue,
    network: SimNetwork,
    cluster: Cluster,
    traffic: ClientTraffic,
    chosen: ChosenValues,
    applied: AppliedPrefixes,
    ballots: MonotoneBallots,
    coverage: Coverage,
    violations: Sequence[str],
    delivered: int,
    fault_events: int,
    transcript: Transcript | None,
    protocol: str,
    quorums: QuorumSpec,
    protocol_options: tuple[tuple[str, str], ...] = (),
) -> SimResult:
    """The run's result; `violations` are the runner's own, after the checkers'."""
    history = traffic.history()
    found = chosen.violations + applied.violations + ballots.violations + list(violations)
    linearizability, counterexample = linearizability_violations(history)
    found.extend(linearizability)
    times = log_times(applied.total_log())
    object_history = traffic.object_history(times.commands)
    objects, object_report = object_violations(options.workload, object_history, times)
    found.extend(objects)
    if object_report is not None:
        counterexample = object_report
    counts = traffic.counts()
    if object_history:
        counts["lease_clock"] = times.clock_commands
    for name, count in sorted(counts.items()):
        if count:
            coverage.notes[name] = count
    clients = traffic.clients.values()
    stats = SimStats(
        ops_issued=sum(c.op_number for c in clients),
        ops_completed=sum(len(c.history) for c in clients),
        messages_sent=network.sent,
        messages_delivered=delivered,
        messages_dropped=network.dropped,
        messages_duplicated=network.duplicated,
        events=queue.popped,
        steps=cluster.steps,
        fault_events=fault_events,
        records_synced=cluster.records_synced,
        records_lost=sum(h.disk.lost for h in cluster.hosts.values()),
        duration_us=queue.now_us,
        notes=coverage.sorted_notes(),
    )
    return SimResult(
        seed=options.seed,
        options=options,
        violations=found,
        coverage=coverage.counters(protocol_spec(protocol).coverage),
        stats=stats,
        history=history,
        object_history=object_history,
        counterexample=counterexample,
        transcript=None if transcript is None else transcript.lines,
        protocol=protocol,
        quorums=quorums,
        protocol_options=protocol_options,
    )
