"""How to run `pyxos` again the way the user just did, for the commands a command prints.

`pyxos` when that is what the shell finds on PATH; else the path that was run
(`.venv/bin/pyxos`, relative to the current directory when it is under it); else, when run as
`python -m pyxos`, that Python with `-m pyxos`. So `make run`'s `.venv/bin/pyxos up` prints
`.venv/bin/pyxos kv get hello`, a command that works as printed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

PROGRAM = "pyxos"


def program(argv0: str | None = None) -> str:
    """The shell words that run pyxos, as the running command was started."""
    path = Path(sys.argv[0] if argv0 is None else argv0)
    if path.name == PROGRAM:
        found = shutil.which(PROGRAM)
        if found is not None and _same(Path(found), path):
            return PROGRAM
        return shlex.quote(_near(path))
    return f"{shlex.quote(_near(Path(sys.executable)))} -m {PROGRAM}"


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _near(path: Path) -> str:
    """`path` relative to the current directory when it lies under it, else absolute."""
    absolute = path.absolute()
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return str(absolute)
    text = str(relative)
    return text if os.sep in text else f".{os.sep}{text}"
