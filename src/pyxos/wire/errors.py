"""Errors of the wire layer, split by whose fault they are (as h11 does).

- `RemoteProtocolError`: the bytes a peer sent are not valid (garbage, an oversized frame, a
  foreign cluster, an unknown protocol version). The receiver drops them; it never crashes.
- `LocalProtocolError`: this process asked for something the protocol cannot carry (a message
  larger than the maximum frame). A bug or a misconfiguration on our side.
"""

from __future__ import annotations


class WireError(Exception):
    """Base class of the errors `pyxos.wire` raises on purpose."""


class RemoteProtocolError(WireError):
    """The peer broke the protocol; the bytes are rejected."""


class LocalProtocolError(WireError):
    """We tried to send something the protocol does not allow; nothing was sent."""
