"""`pyxos demo`: one simulated 3-node run, narrated, then the checkers' verdict.

This is what `make run` starts until the real runtime exists: it shows the protocol at work
(elections, faults, catch-up) in a few seconds, and ends with the commands to explore further.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from pyxos.sim.runner import run_seed

# Transcript lines worth a person's attention: faults and what the nodes noticed.
_NOTE_TEXT = {
    "leader": "became leader",
    "repropose": "re-proposed a value it found accepted",
    "catchup": "caught up from a peer",
}


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "demo",
        help="run one narrated simulated cluster through faults and check it",
        description=(
            "Run a simulated 3-node pyxos cluster with clients, partitions, crashes and message "
            "loss on a virtual clock, print what happens, and check the run for safety, "
            "linearizability and liveness."
        ),
    )
    parser.add_argument("--seed", type=int, default=2026, help="the run's seed (default 2026)")
    parser.add_argument("--nodes", type=int, default=3, help="cluster size (default 3)")
    parser.set_defaults(func=run)


def _narrate(line: str) -> str | None:
    parts = line.split()
    if len(parts) < 3:
        return None
    at = f"{int(parts[0]) / 1e6:7.3f}s"
    if parts[1] == "fault":
        return f"{at}  fault: {' '.join(parts[2:])}"
    if parts[2] == "note" and parts[3] in _NOTE_TEXT:
        node = parts[1].lstrip("n")
        detail = " ".join(parts[4:])
        return f"{at}  node {node} {_NOTE_TEXT[parts[3]]} ({detail})"
    return None


def run(args: argparse.Namespace) -> int:
    if args.nodes < 1:
        print("error: --nodes must be at least 1")
        return 2
    started = time.process_time()
    result = run_seed(args.seed, transcript=True, nodes=args.nodes)
    cpu_s = time.process_time() - started
    print(f"pyxos demo: a simulated {args.nodes}-node cluster, seed {args.seed}")
    print(f"options: {result.options.describe()}\n")
    for line in result.transcript or []:
        text = _narrate(line)
        if text is not None:
            print(text)
    stats = result.stats
    print(
        f"\n{stats.ops_completed} of {stats.ops_issued} client operations completed, "
        f"{stats.messages_sent} messages ({stats.messages_dropped} dropped), "
        f"{stats.fault_events} fault events, {stats.duration_us / 1e6:.1f}s of virtual time "
        f"in {cpu_s:.2f} CPU-seconds."
    )
    if result.ok:
        print(
            "verdict: pass (one value per slot, replicas agree, no acknowledged write lost, "
            "history linearizable, every operation completed after the heal)"
        )
    else:
        print("verdict: FAIL")
        for violation in result.violations:
            print(f"  {violation}")
        print(f"replay: {result.replay}")
    print(
        "\nTry next:\n"
        f"  .venv/bin/pyxos sim --seed {args.seed} --transcript run.txt   "
        "# the full message-level transcript\n"
        "  .venv/bin/pyxos sim --seeds 1..500                  # a sweep with a summary\n"
        f"  .venv/bin/pyxos sim --seed {args.seed} --history h.jsonl && "
        ".venv/bin/pyxos check history h.jsonl"
    )
    return 0 if result.ok else 1
