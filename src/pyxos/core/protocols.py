"""The protocols this build of pyxos can run, by the name a cluster file gives them."""

from __future__ import annotations

from pyxos.core import multipaxos, wpaxos
from pyxos.core.protocol import ProtocolSpec

DEFAULT_PROTOCOL = multipaxos.SPEC.name

PROTOCOLS: dict[str, ProtocolSpec] = {spec.name: spec for spec in (multipaxos.SPEC, wpaxos.SPEC)}


class UnknownProtocol(ValueError):  # noqa: N818 (named after the condition)
    """A protocol name that is not in `PROTOCOLS`."""


def protocol_spec(name: str) -> ProtocolSpec:
    """The protocol called `name`. Raises `UnknownProtocol` naming the known ones."""
    spec = PROTOCOLS.get(name)
    if spec is None:
        known = ", ".join(sorted(PROTOCOLS))
        raise UnknownProtocol(f"unknown protocol {name!r}: this build runs {known}")
    return spec
