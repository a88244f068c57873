"""How a machine's commands read for a person: the committed log's print (`/log/print`, `pyxos
log dump`), which `pyxos check logs` also compares across nodes line by line.

Each machine module has a `describe_op(op) -> str` built from these pieces, so that every
machine shows a name and a value the same way:

- a name (a key, a lock, an owner, a queue) made only of ASCII letters, digits and `_.:/@+-` is
  shown as it is; any other is quoted like Python's `repr`, so a line never holds a raw newline;
- a value that is printable UTF-8 text is quoted (`'hello'`); any other value, which is binary
  (Paxi's clients write varints), is `0x` and its bytes in hex (`0x96b1e403`); an absent value
  is `None`. Two different values never show alike, and each comes back exactly:
  `ast.literal_eval(shown).encode()` for text, `bytes.fromhex(shown[2:])` for binary;
- bytes that are not a command of the machine are `bad` and their hex.
"""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[A-Za-z0-9_.:/@+\-]+")


def show_name(name: str) -> str:
    return name if _PLAIN.fullmatch(name) else repr(name)


def show_value(value: bytes | None) -> str:
    if value is None:
        return "None"
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return "0x" + value.hex()
    return repr(text) if text.isprintable() else "0x" + value.hex()


def show_bad(op: bytes) -> str:
    """Bytes that are not a command of the machine they were sent to."""
    return f"bad {op.hex()}"
