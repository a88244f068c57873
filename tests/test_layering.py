"""The pure layers import no I/O, clocks, threads or global randomness.

`core`, `machines`, `node`, `wire`, `check`, `faults` and `sim` must be drivable by the
simulator deterministically; an import of one of these modules there would let nondeterminism
in. `random` is allowed only as `from random import Random` (an injected, seeded instance).
The check is an AST walk so it also sees imports inside functions.

`pyxos.errors` (the public error tree) is a pure leaf below all of them: it imports no pyxos
module and nothing of the above, so that every layer, the pure ones included, may import it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "pyxos"
PURE = ("core", "machines", "node", "wire", "check", "faults", "sim")
LEAF = "errors"
"""`pyxos/errors.py`: a module, not a package, that every layer may import."""
FORBIDDEN = {
    "asyncio",
    "time",
    "socket",
    "threading",
    "os",
    "datetime",
    "subprocess",
    "selectors",
    "multiprocessing",
    "uuid",
    "secrets",
}
# Layers may only import from layers at or below them.
ALLOWED_INTERNAL = {
    LEAF: set(),
    "core": {"core", LEAF},
    "check": {"check", LEAF},
    "machines": {"machines", "core", LEAF},
    "faults": {"faults", "core", LEAF},
    "wire": {"wire", "core", "node", "machines", LEAF},
    "node": {"node", "core", "machines", LEAF},
    "sim": {"sim", "core", "machines", "node", "check", "faults", "wire", LEAF},
}


def _pure_files() -> list[Path]:
    files = [SRC / f"{LEAF}.py"]
    for layer in PURE:
        files.extend(sorted((SRC / layer).rglob("*.py")))
    return files


def _layer_of(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _violations(path: Path) -> list[str]:
    return _violations_in(path.read_text(), layer=_layer_of(path))


def _violations_in(source: str, *, layer: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            for alias in node.names:
                if alias.name == "random":
                    found.append(f"line {node.lineno}: import random (inject random.Random)")
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
            if node.module == "random" and any(a.name != "Random" for a in node.names):
                found.append(f"line {node.lineno}: from random import (only Random is allowed)")
        for name in names:
            top = name.split(".")[0]
            if top in FORBIDDEN:
                found.append(f"line {node.lineno}: imports {name}")
            if top == "pyxos" and layer == LEAF:
                found.append(f"line {node.lineno}: the leaf {LEAF} imports {name}")
            elif top == "pyxos" and name.count(".") >= 1:
                target = name.split(".")[1]
                layers = (*PURE, LEAF, "runtime", "service", "cli", "bench", "chaos", "storage")
                if target in layers and target not in ALLOWED_INTERNAL[layer]:
                    found.append(f"line {node.lineno}: {layer} imports pyxos.{target}")
    return found


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_layer_imports(path: Path) -> None:
    assert _violations(path) == []


def test_the_walk_sees_forbidden_imports() -> None:
    source = "def f():\n    import time\nfrom random import choice\nfrom pyxos.sim import x\n"
    assert len(_violations_in(source, layer="core")) == 3
    assert _violations_in("from pyxos.errors import Timeout\n", layer="core") == []
    leaf = "import pyxos\nfrom pyxos.core import ids\nimport asyncio\n"
    assert len(_violations_in(leaf, layer=LEAF)) == 3


def test_the_error_tree_imports_nothing_heavy() -> None:
    # What `except pyxos.Timeout` costs a program: the leaf alone, without asyncio or aiohttp.
    code = (
        "import sys, pyxos.errors\n"
        "heavy = {'asyncio', 'aiohttp', 'msgspec'} & set(sys.modules)\n"
        "ours = sorted(m for m in sys.modules if m.startswith('pyxos'))\n"
        "assert not heavy and ours == ['pyxos', 'pyxos.errors'], (heavy, ours)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# The I/O layers point down too: cli > bench, chaos > service, client, embed > runtime >
# storage > the pure layers. (`client` reads cluster files with runtime.config; `service`
# assembles a node process; `embed` runs a node in the caller's process and never needs HTTP.)
IO_ALLOWED = {
    "storage": {"storage", *PURE, LEAF},
    "runtime": {"runtime", "storage", *PURE, LEAF},
    "client": {"client", "runtime", *PURE, LEAF},
    "embed": {"embed", "runtime", "storage", *PURE, LEAF},
    "service": {"service", "runtime", "storage", "client", *PURE, LEAF},
    # The harnesses drive clusters from outside: through clients, node processes and checkers.
    "bench": {"bench", "client", "runtime", "storage", *PURE, LEAF},
    "chaos": {"chaos", "service", "client", "runtime", "storage", *PURE, LEAF},
}
ALL_LAYERS = (
    *PURE,
    LEAF,
    "storage",
    "runtime",
    "client",
    "embed",
    "service",
    "cli",
    "bench",
    "chaos",
)


def _io_files() -> list[Path]:
    return [p for layer in IO_ALLOWED for p in sorted((SRC / layer).rglob("*.py"))]


@pytest.mark.parametrize("path", _io_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_io_layer_imports_point_down(path: Path) -> None:
    layer = path.relative_to(SRC).parts[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    upward = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            target = parts[1] if parts[0] == "pyxos" and len(parts) > 1 else ""
            if target in ALL_LAYERS and target not in IO_ALLOWED[layer]:
                upward.append(f"line {node.lineno}: {layer} imports pyxos.{target}")
    assert upward == []
