"""`--protocol`, `--quorums` and `--protocol-option`: the same flags wherever a cluster is
started or simulated, and the quorums a new cluster gets when `--quorums` is not given."""

from __future__ import annotations

import argparse

from pyxos.core.protocols import DEFAULT_PROTOCOL, PROTOCOLS, UnknownProtocol, protocol_spec
from pyxos.core.quorum import MAJORITY, QuorumSpec, parse_quorums

QUORUMS_HELP = (
    "the quorum system: majority (default), flexible:q1=Q1,q2=Q2 (Flexible Paxos: phase 1 on "
    "Q1 nodes, phase 2 on Q2, Q1 + Q2 above the nodes), or grid:zones=Z,fz=FZ,fn=FN (WPaxos "
    "grids: Z zones of consecutive ids, FZ zone and FN node-per-zone failures)"
)


OPTIONS_HELP = "; ".join(
    f"{name}: {', '.join(f'{o} = {h}' for o, h in sorted(PROTOCOLS[name].options.items()))}"
    for name in sorted(PROTOCOLS)
    if PROTOCOLS[name].options
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
    parser.add_argument(
        "--protocol-option",
        dest="protocol_option",
        action="append",
        type=_option,
        default=[],
        metavar="NAME=VALUE",
        help=f"a setting of the protocol, repeatable ({OPTIONS_HELP})",
    )


def protocol_options(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """The `--protocol-option`s checked against `--protocol`; `ValueError` names a bad one."""
    spec = protocol_spec(args.protocol)
    return spec.check_options(args.protocol_option)


def default_quorums(
    protocol: str, nodes: int, zones: int | None, asked: QuorumSpec | None
) -> QuorumSpec:
    """The quorums a new local cluster gets: what `--quorums` asked for, else WPaxos grids over
    its zones (`fz=0`: phase 2 inside one zone; `fn=1` when every zone has 2 or more nodes, so
    that a zone survives the loss of one), else majorities."""
    if asked is not None:
        return asked
    if protocol != "wpaxos" or zones is None or zones < 2:
        return MAJORITY
    smallest = nodes // zones
    return QuorumSpec(kind="grid", fz=0, fn=1 if smallest >= 2 else 0)


def _option(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


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
