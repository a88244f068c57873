"""Member processes of a benchmarked cluster: start with a log file, poll, stop.

Every adapter runs its members the same way: each in its own session (so a Ctrl-C reaches
the driver only, which stops them in order), logging to `<name>.log` in the cluster's
temporary directory; readiness is polled with a deadline, never waited for blindly.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

POLL_S = 0.05
STOP_DEADLINE_S = 10.0
START_DEADLINE_S = 60.0


class StartFailedError(RuntimeError):
    """A cluster did not come up; the message says which member and shows its log's tail."""


@dataclass(slots=True)
class Members:
    """The member processes of one cluster, by name."""

    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None) -> None:
        """Start member `name` running `argv`, its output to `<log_dir>/<name>.log`."""
        with open(self.log_path(name), "ab") as log_file:
            self.procs[name] = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs.values()]

    def check_running(self) -> None:
        """Raise `StartFailedError` if a member has exited."""
        for name, proc in self.procs.items():
            code = proc.poll()
            if code is not None:
                raise StartFailedError(
                    f"{name} exited with status {code}; the end of its log:\n{self.tail(name)}"
                )

    def tail(self, name: str, lines: int = 15) -> str:
        try:
            text = self.log_path(name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_until(
        self, ready: Callable[[], bool], what: str, deadline_s: float = START_DEADLINE_S
    ) -> None:
        """Poll `ready` until it is true; `StartFailedError` if a member exits or `deadline_s`
        passes first."""
        deadline = time.monotonic() + deadline_s
        while not ready():
            self.check_running()
            if time.monotonic() > deadline:
                raise StartFailedError(
                    f"{what}: not within {deadline_s:g}s (logs in {self.log_dir})"
                )
            time.sleep(POLL_S)

    def stop(self) -> None:
        """SIGTERM every member still running, then wait for each, killing it past a deadline."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_DEADLINE_S
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
