"""The pure layers import no I/O, clocks, threads or global randomness.

`core`, `machines`, `node`, `exec`, `wire`, `check`, `faults` and `sim` must be drivable by the
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
PURE = ("core", "machines", "node", "exec", "wire", "check", "faults", "sim")
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
    "exec": {"exec", "core", "node", LEAF},
    "sim": {"sim", "core", "machines", "node", "exec", "check", "faults", "wire", LEAF},
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


# ---- inside the core: protocols are packages, and nothing reaches into one ------------------
CORE = SRC / "core"
PROTOCOL_PACKAGES = sorted(
    p.name
    for p in CORE.iterdir()
    if p.is_dir() and (p / "__init__.py").exists() and p.name != "quorum"
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            # `from pyxos.core.multipaxos import leader` imports a submodule too.
            found.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names)
    return found


def test_the_core_hosts_multipaxos_as_a_package() -> None:
    assert "multipaxos" in PROTOCOL_PACKAGES


def test_nothing_outside_a_protocol_package_imports_its_modules() -> None:
    """The layers above (and the other protocols) know a protocol only through its package's
    public names (`pyxos.core.multipaxos`), never its internal modules."""
    reaching = []
    for path in sorted(SRC.rglob("*.py")):
        for package in PROTOCOL_PACKAGES:
            inside = f"pyxos.core.{package}"
            if _module_name(path).startswith(inside):
                continue
            for lineno, name in _imported_modules(path):
                module_file = SRC.parent / (name.replace(".", "/") + ".py")
                if name.startswith(inside + ".") and module_file.exists():
                    reaching.append(f"{path.relative_to(SRC)}:{lineno} imports {name}")
    assert reaching == []


def _core_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p): p for p in CORE.rglob("*.py")}
    for name, path in modules.items():
        edges = set()
        for _, imported in _imported_modules(path):
            if imported in modules and imported != name:
                edges.add(imported)
        graph[name] = edges
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_no_import_circles_inside_the_core() -> None:
    """Roles are leaf objects: none imports a module that imports it back (the package's own
    `__init__`, which only re-exports, is left out of the graph's edges into it)."""
    graph = _core_graph()
    for name in graph:
        graph[name] = {m for m in graph[name] if not _is_package(m)}
    assert _find_cycle(graph) is None


def _is_package(module: str) -> bool:
    return (SRC.parent / module.replace(".", "/") / "__init__.py").exists()


def test_the_circle_finder_finds_a_circle() -> None:
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_core_module_calls_another_modules_private_names() -> None:
    """`x._name` where `x` is not `self` or `cls`: a role reaching into another's internals."""
    found = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                found.append(f"{path.relative_to(SRC)}:{node.lineno} .{node.attr}")
    assert found == []
