"""What the commands print: one plain format, JSON with `-o json`, aligned columns with
`-o table` where a listing is easier to read that way.

Plain, for every command alike:

- a read prints what it read: the value itself and a newline (`kv get`, `map get`, `ask`,
  `queue peek|pop`);
- a write prints `OK`, then what it produced as `name=value` words (`map put` ->
  `OK version=2`, `queue push` -> `OK length=3`, `lock get` -> `OK lock=db holder=alice
  token=7 expires_in=30s`); a record that is read prints the words alone;
- a listing prints one line per item, its fields separated by a tab; a tab, newline, carriage
  return, NUL, backslash or other control character inside a field is written `\\t`, `\\n`,
  `\\r`, `\\0`, `\\\\`, `\\xNN`, and a byte that is not UTF-8 `\\xNN`, so that an item is always
  exactly one line;
- a failure prints nothing on stdout and one line on stderr.

JSON is one document per command. A value is text when it is UTF-8, else base64 with
`"encoding": "base64"` beside it (as the HTTP API gives it).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Literal

Format = Literal["plain", "json", "table"]

_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"}


def add_output_argument(
    parser: argparse.ArgumentParser,
    formats: Sequence[Format] = ("plain", "json"),
    default: Format = "plain",
) -> None:
    """`-o/--output FORMAT`."""
    parser.add_argument(
        "-o",
        "--output",
        choices=formats,
        default=default,
        help=f"how to print the result: {', '.join(formats)} (default {default})",
    )


def escape(field: str | bytes) -> str:
    """`field` on one line: control characters and backslashes escaped, bytes that are not
    UTF-8 as `\\xNN`."""
    # surrogateescape turns each byte that is not UTF-8 into one code point, U+DC80..U+DCFF.
    text = field.decode(errors="surrogateescape") if isinstance(field, bytes) else field
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        else:
            out.append(char)
    return "".join(out)


def json_value(value: bytes, name: str = "value") -> dict[str, Any]:
    """`{name: text}`, or `{name: base64, name_encoding: "base64"}` when it is not UTF-8."""
    try:
        return {name: value.decode()}
    except UnicodeDecodeError:
        encoding = "encoding" if name == "value" else f"{name}_encoding"
        return {name: base64.b64encode(value).decode(), encoding: "base64"}


def print_value(value: bytes) -> None:
    """A value read, as it is, and a newline."""
    sys.stdout.buffer.write(value + b"\n")
    sys.stdout.flush()


def print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False))


def words(fields: Mapping[str, object]) -> str:
    """`name=value` words, values escaped to stay on the line."""
    return " ".join(f"{name}={escape(str(value))}" for name, value in fields.items())


def print_ok(fields: Mapping[str, object] | None = None) -> None:
    print(f"OK {words(fields)}" if fields else "OK")


def print_rows(
    columns: Sequence[str], rows: Sequence[Sequence[str | bytes]], output: Format
) -> None:
    """A listing: tab-separated escaped lines (`plain`) or aligned columns under a header
    (`table`)."""
    lines = [[escape(cell) for cell in row] for row in rows]
    if output == "table":
        print(render_table([[c.upper() for c in columns], *lines]), end="")
        return
    for line in lines:
        print("\t".join(line))


def render_table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"
