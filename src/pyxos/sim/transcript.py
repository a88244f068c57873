"""The run's transcript: one deterministic text line per fault, delivery and executed effect.

Lines read `<time us> <what>`, e.g. `    1234 n1->n2 Accept(...)`. Only values that are the same
on every run go in (no object ids, no hash-ordered containers), so two runs of one seed give
byte-identical transcripts; comparing them is the determinism test.
"""

from __future__ import annotations

from typing import assert_never

from pyxos.node.io import Flush, FromClient, NodeInput, Receive, Tick

CLIENT_ADDRESS_BASE = 1000
"""Client `i` (1-based) has address and client id `1000 + i`; lower addresses are nodes."""


class Transcript:
    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, now_us: int, text: str) -> None:
        self.lines.append(f"{now_us:>10} {text}")

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


def address_name(address: int) -> str:
    return f"c{address}" if address > CLIENT_ADDRESS_BASE else f"n{address}"


def describe_input(inp: NodeInput) -> str:
    match inp:
        case Tick(now_ms=now_ms):
            return f"tick {now_ms}ms"
        case Receive(sender=sender, message=message):
            return f"from n{sender} {message!r}"
        case FromClient(sender=sender, message=message):
            return f"from c{sender} {message!r}"
        case Flush():
            return "flush"
        case _:
            assert_never(inp)
