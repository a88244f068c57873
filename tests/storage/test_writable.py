"""A data directory this process may not write is an access problem, said as such, and nothing
in it changes: not corruption, and never a reason to rebuild a healthy log."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyxos.runtime.config import HostPort, cluster_toml
from pyxos.runtime.ports import free_ports
from pyxos.storage import WriteAheadLog, writable
from pyxos.storage.writable import NotWritable, check_writable

NOBODY = 65534
RUN_TIMEOUT_S = 60.0


def _healthy_log(directory: Path) -> None:
    """A log as a node leaves it: its directory, a segment, its lock file."""
    log = WriteAheadLog(directory)
    log.load()
    log.close()
    assert any(p.name.startswith("wal-") for p in directory.iterdir())


def _contents(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` and the bytes of each file (None for a directory)."""
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def test_a_writable_directory_passes_and_is_left_as_it_was(tmp_path: Path) -> None:
    _healthy_log(tmp_path / "wal")
    (tmp_path / "boot").write_text("4\n")
    before = _contents(tmp_path)
    check_writable(tmp_path)
    assert _contents(tmp_path) == before
    missing = tmp_path / "a" / "b"
    check_writable(missing)  # a directory the node will create: its parent must allow it
    assert not (tmp_path / "a").exists()


def _refuse(monkeypatch: pytest.MonkeyPatch, module: object, code: int, where: Path) -> None:
    """Make `os.open` in `module` fail with `code` for paths under `where`."""
    real_open = os.open

    def refusing(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if str(path).startswith(str(where)):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(module.os, "open", refusing)  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.EPERM])
def test_a_refusal_names_the_path_and_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    _healthy_log(tmp_path / "wal")
    _refuse(monkeypatch, writable, code, tmp_path / "wal")
    with pytest.raises(NotWritable) as caught:
        check_writable(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"the data directory {tmp_path} is not writable by this process")
    assert f"{tmp_path / 'wal'}: {os.strerror(code)}; nothing in it was changed" in message


def test_other_errors_are_left_to_the_nodes_own_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refuse(monkeypatch, writable, errno.EIO, tmp_path)
    check_writable(tmp_path)  # not an access problem: the node's first write will say what it is


def _as_nobody() -> list[str]:
    """The command prefix that runs a program as nobody, for a test run by root (who may write
    anywhere); skips the test if this Python cannot run as nobody here."""
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    check = f"import os, pyxos; assert os.geteuid() == {NOBODY}"
    try:
        probe = subprocess.run(
            [*prefix, sys.executable, "-c", check], check=False, capture_output=True
        )
    except OSError as exc:  # no setpriv
        pytest.skip(f"cannot run a process as uid {NOBODY}: {exc}")
    if probe.returncode != 0:
        pytest.skip(f"this Python cannot run as uid {NOBODY}: {probe.stderr[-200:]!r}")
    return prefix


@pytest.fixture
def unwritable_data_dir() -> Iterator[tuple[Path, list[str]]]:
    """A cluster file whose node 1 has a healthy log, and the command prefix that runs a process
    that may not write it."""
    root = Path(tempfile.mkdtemp(prefix="pyxos-ro-"))
    data = root / "node-1"
    _healthy_log(data / "wal")
    ports = iter(free_ports(3))
    address = [HostPort(host="127.0.0.1", port=next(ports)) for _ in range(3)]
    (root / "cluster.toml").write_text(
        cluster_toml(cluster="ro", nodes=[(1, *address)], data_dir=str(root))
    )
    modes = {p: p.stat().st_mode for p in [root, *root.rglob("*")]}
    try:
        if os.geteuid() == 0:
            root.chmod(0o755)  # nobody may enter, not write
            prefix = _as_nobody()
        else:
            prefix = []
            for path in modes:
                path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        yield root, prefix
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
        subprocess.run(["rm", "-rf", str(root)], check=True)


@pytest.mark.parametrize("rebuild", [False, True])
def test_a_node_whose_data_directory_is_not_writable_says_so_and_changes_nothing(
    unwritable_data_dir: tuple[Path, list[str]], rebuild: bool
) -> None:
    root, prefix = unwritable_data_dir
    before = _contents(root)
    command = [*prefix, sys.executable, "-m", "pyxos.cli.node_cmd"]
    command += ["--config", "cluster.toml", "--id", "1"] + (["--rebuild"] if rebuild else [])
    result = subprocess.run(
        command, check=False, cwd=root, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    assert result.returncode == 1, result.stderr
    assert f"the data directory {root / 'node-1'} is not writable by this process" in result.stderr
    assert "do not use --rebuild" in result.stderr
    assert "Traceback" not in result.stderr
    assert "to rebuild this node" not in result.stderr
    assert _contents(root) == before  # nothing written, nothing moved aside
