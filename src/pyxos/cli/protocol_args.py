"""`--protocol` and `--quorums`: the same two flags wherever a cluster is started or simulated."""

from __future__ import annotations

import argparse

from pyxos.core.protocols import DEFAULT_PROTOCOL, PROTOCOLS, UnknownProtocol, protocol_spec
from pyxos.core.quorum import MAJORITY, QuorumSpec, parse_quorums

QUORUMS_HELP = (
    "the quorum system: majority (default), flexible:q1=Q1,q2=Q2 (Flexible Paxos: phase 1 on "
    "Q1 nodes, phase 2 on Q2, Q1 + Q2 above the nodes), or grid:zones=Z,fz=FZ,fn=FN (WPaxos "
    "grids: Z zones of consecutive ids, FZ zone and FN node-per-zone failures)"
)


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocol",
        type=_protocol,
        default=DEFAULT_PROTOCOL,
        metavar="NAME",
        help=f"the consensus protocol: {', '.join(sorted(PROTOCOLS))} (default {DEFAULT_PROTOCOL})",
    )
    parser.add_argument(
        "--quorums", type=_quorums, default=MAJORITY, metavar="SPEC", help=QUORUMS_HELP
    )


def _protocol(text: str) -> str:
    try:
        return protocol_spec(text).name
    except UnknownProtocol as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _quorums(text: str) -> QuorumSpec:
    try:
        return parse_quorums(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
