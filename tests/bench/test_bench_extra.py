"""`pip install pyxos` without the `bench` extra: the commands that need it say what to
install, and the others work; never a `ModuleNotFoundError` traceback."""

from __future__ import annotations

import subprocess
import sys

# A Python in which the extra's modules cannot be imported, as after a plain `pip install`.
WITHOUT_EXTRA = """
import sys
for module in ("hdrh", "rich", "matplotlib"):
    sys.modules[module] = None
from pyxos.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def pyxos_without_extra(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bench_run_matrix_and_peers_name_the_extra() -> None:
    for command in ("run", "matrix", "peers"):
        done = pyxos_without_extra("bench", command)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stderr == (
            f"pyxos bench {command}: error: this needs pyxos's bench extra; missing here: "
            "hdrhistogram, rich, matplotlib. Install it with: pip install 'pyxos[bench]'\n"
        )


def test_everything_else_works_without_it() -> None:
    assert pyxos_without_extra("--help").returncode == 0
    done = pyxos_without_extra("bench", "sim", "--seeds", "1..2")
    assert done.returncode == 0, done.stderr
    assert "simulator speed" in done.stdout
