"""The `pyxos` command itself: `--version`, `python -m pyxos`, and its bash completion."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyxos import __version__
from pyxos.cli.main import main
from pyxos.cli.program import program

BIN = Path(sys.executable).parent


def test_version_and_python_dash_m(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"pyxos {__version__}\n"
    for command in (
        [sys.executable, "-m", "pyxos", "--version"],
        [str(BIN / "pyxos"), "--version"],
    ):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert (done.returncode, done.stdout) == (0, f"pyxos {__version__}\n")
    done = subprocess.run(
        [sys.executable, "-m", "pyxos"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2 and "usage: pyxos" in done.stdout


COMPLETE = """
source <("$PYXOS" completion bash)
complete_words() {
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _pyxos
    echo "${COMPREPLY[*]}"
}
complete_words pyxos k
complete_words pyxos kv g
complete_words pyxos kv get some-key -o ""
complete_words pyxos kv list --li
complete_words pyxos queue ""
complete_words pyxos status -o t
complete_words pyxos wal verify "$DIR/da"
"""


def test_bash_completes_commands_options_choices_and_files(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash here")
    (tmp_path / "data-dir").mkdir()
    done = subprocess.run(
        [bash, "-c", COMPLETE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PYXOS": str(BIN / "pyxos"), "DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "kv",
        "get",
        "plain json",
        "--limit",
        "peek pop push",
        "table",
        f"{tmp_path}/data-dir",
    ]


def test_commands_are_printed_as_the_user_ran_pyxos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "venv" / "bin" / "pyxos"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert program("venv/bin/pyxos") == "venv/bin/pyxos"  # not on PATH: the path that was run
    assert program(str(script)) == "venv/bin/pyxos"  # relative when under this directory
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    assert program(str(script)) == "pyxos"  # what the shell finds
    assert program("/elsewhere/pyxos") == "/elsewhere/pyxos"
    assert program("/x/pyxos/cli/up_cmd.py").endswith(" -m pyxos")
