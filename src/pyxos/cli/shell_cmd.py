"""`pyxos shell`: an interactive shell with Paxi's commands, one command a line.

    get K                 the value of K (linearizable)
    put K V               set K to V (the rest of the line, spaces included)
    del K                 delete K
    consensus K           every node's own (stale) value of K, and whether they agree
    crash N [SECONDS]     crash node N (needs fault injection): for SECONDS it neither
                          talks nor serves, then comes back; without SECONDS its process
                          exits through /crash and stays down (`pyxos up` does not restart it)
    partition SECONDS N [N ...]
                          cut nodes N... off the others for SECONDS (needs fault injection)
    status                one line per node
    help                  this list
    exit                  leave (so does end of input)

It reads standard input line by line and prints one answer per command, so it can be driven
by a pipe (`printf 'put a 1\\nget a\\n' | pyxos shell`). On a terminal it shows a prompt, edits
the line with readline and keeps the history between runs, in `$PYXOS_HISTORY` (default
`~/.pyxos_history`; the up arrow brings earlier commands back). An error answers that command
and the shell goes on. Exit status 0 (2 for bad options, 3 when the cluster cannot be found at
start).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from pyxos.cli.fault_cmd import UsageError, call_faults, partition_sends
from pyxos.cli.kv_cmd import EXIT_OK, add_cluster_arguments
from pyxos.cli.output import render_table
from pyxos.cli.status_cmd import fetch_status, resolve_members
from pyxos.client import Client, PyxosError
from pyxos.client.admin import Member, http_get

HELP = (__doc__ or "").split("\n\n")[1]
PROMPT = "pyxos> "
PER_NODE_TIMEOUT_S = 2.0
HISTORY_ENV = "PYXOS_HISTORY"
HISTORY_LENGTH = 1000
EXIT_WORDS = ("exit", "quit")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_cluster_arguments(parser)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "shell",
        help="an interactive shell: get, put, consensus, crash, ...",
        description="An interactive shell with Paxi's commands; reads commands from stdin.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def _show(value: bytes | None) -> str:
    return "(absent)" if value is None else value.decode(errors="backslashreplace")


class Shell:
    """The commands, bound to one cluster. `execute(line)` answers one line."""

    def __init__(self, members: list[Member], client: Client, *, timeout_s: float) -> None:
        self.members = members
        self.client = client
        self.timeout_s = timeout_s
        self._per_node: dict[int, Client] = {}
        self._commands: dict[str, Callable[[list[str], str], str]] = {
            "get": self._get,
            "put": self._put,
            "del": self._delete,
            "consensus": self._consensus,
            "crash": self._crash,
            "partition": self._partition,
            "status": self._status,
            "help": lambda words, line: HELP,
        }

    def close(self) -> None:
        for client in self._per_node.values():
            client.close()
        self.client.close()

    def execute(self, line: str) -> str:
        """The answer to one command line (no trailing newline)."""
        words = line.split()
        command = self._commands.get(words[0]) if words else None
        if command is None:
            return f"unknown command {words[0]!r}; try help" if words else ""
        try:
            return command(words, line)
        except PyxosError as exc:
            return f"error: {exc}"

    # ---- the commands -----------------------------------------------------------------------
    def _get(self, words: list[str], line: str) -> str:
        if len(words) != 2:
            return "usage: get KEY"
        return _show(self.client.get(words[1]))

    def _put(self, words: list[str], line: str) -> str:
        parts = line.strip().split(maxsplit=2)
        if len(parts) != 3:
            return "usage: put KEY VALUE"
        self.client.put(parts[1], parts[2])
        return "OK"

    def _delete(self, words: list[str], line: str) -> str:
        if len(words) != 2:
            return "usage: del KEY"
        previous = self.client.delete(words[1])
        return "OK" if previous is not None else f"{words[1]}: not found"

    def _consensus(self, words: list[str], line: str) -> str:
        if len(words) != 2:
            return "usage: consensus KEY"
        values: dict[int, bytes | None] = {}
        lines = []
        for member in self.members:
            try:
                values[member.node] = self._node_client(member).get(words[1], "stale")
                lines.append(f"node {member.node}: {_show(values[member.node])}")
            except PyxosError as exc:
                lines.append(f"node {member.node}: no answer ({exc})")
        distinct = set(values.values())
        if len(values) < len(self.members):
            verdict = f"{len(values)} of {len(self.members)} nodes answered; "
            verdict += "they agree" if len(distinct) <= 1 else "they DISAGREE"
        else:
            verdict = "consensus: all nodes agree" if len(distinct) == 1 else "NO consensus"
        return "\n".join([*lines, verdict])

    def _crash(self, words: list[str], line: str) -> str:
        if len(words) not in (2, 3) or not words[1].isdigit():
            return "usage: crash NODE [SECONDS]"
        member = self._member(int(words[1]))
        if member is None:
            return f"no node {words[1]} (members: {', '.join(str(m.node) for m in self.members)})"
        if len(words) == 3:
            seconds = _seconds(words[2])
            if seconds is None:
                return "usage: crash NODE [SECONDS]"
            fault = {"kind": "crash", "duration_s": seconds}
            return self._tell("crash", [(f"node {member.node}", member.http, fault)]) or (
                f"node {member.node} crashed for {seconds:g}s: it neither talks nor serves, "
                "then comes back by itself"
            )
        try:
            code, body = http_get(member.http, "/crash", timeout_s=self.timeout_s)
        except OSError as exc:
            return f"node {member.node} did not answer: {exc}"
        if code == 404 and b"fault_injection_disabled" in body:
            return _fault_injection_off("crash", f"node {member.node}")
        if code != 200:
            return f"crash: node {member.node} answered {code}: {body.decode(errors='replace')}"
        return (
            f"node {member.node} crashed; start it again with "
            f"`pyxos node --config CLUSTER_FILE --id {member.node}`"
        )

    def _partition(self, words: list[str], line: str) -> str:
        usage = "usage: partition SECONDS NODE [NODE ...]"
        seconds = _seconds(words[1]) if len(words) >= 3 else None
        if seconds is None or not all(w.isdigit() for w in words[2:]):
            return usage
        members = {m.node: m for m in self.members}
        isolated = {int(w) for w in words[2:]}
        try:
            sends = partition_sends(members, isolated, seconds)
        except UsageError as exc:
            return f"partition: {exc}"
        cut = ", ".join(map(str, sorted(isolated)))
        return self._tell("partition", sends) or (
            f"nodes {cut} cut off the others for {seconds:g}s"
        )

    def _tell(self, what: str, sends: Sequence[tuple[str, Any, dict[str, Any] | None]]) -> str:
        """Post each fault; an error message, or "" when every node took its fault."""
        for label, address, body in sends:
            try:
                code, answer = call_faults(address, "POST", body)
            except (OSError, ValueError) as exc:
                return f"{what}: {label} did not answer: {exc}"
            disabled = isinstance(answer, dict) and answer.get("code") == "fault_injection_disabled"
            if code == 404 and disabled:
                return _fault_injection_off(what, label)
            if code != 200:
                return f"{what}: {label} answered {code}: {answer}"
        return ""

    def _status(self, words: list[str], line: str) -> str:
        rows: list[Sequence[str]] = [["NODE", "ROLE", "LEADER", "APPLIED"]]
        for member in self.members:
            status = fetch_status(member, PER_NODE_TIMEOUT_S)
            if isinstance(status, str):
                rows.append([str(member.node), "down", "", ""])
                continue
            leader = "-" if status.leader is None else str(status.leader)
            rows.append([str(member.node), status.role, leader, str(status.applied_index)])
        return render_table(rows).rstrip("\n")

    # ---- helpers ------------------------------------------------------------------------------
    def _member(self, node: int) -> Member | None:
        return next((m for m in self.members if m.node == node), None)

    def _node_client(self, member: Member) -> Client:
        client = self._per_node.get(member.node)
        if client is None:
            client = Client(
                [str(member.client)],
                pinned=True,
                timeout_s=PER_NODE_TIMEOUT_S,
                attempt_timeout_s=PER_NODE_TIMEOUT_S,
            )
            self._per_node[member.node] = client
        return client


def serve(shell: Shell, lines: Iterable[str], stdout: TextIO) -> None:
    """Answer every line until `exit` or the end of the lines."""
    for line in lines:
        if line.strip() in EXIT_WORDS:
            break
        answer = shell.execute(line)
        if answer:
            stdout.write(answer + "\n")
            stdout.flush()


def history_file() -> Path:
    """Where the shell keeps what was typed at a terminal: `$PYXOS_HISTORY`, or
    `~/.pyxos_history`."""
    return Path(os.environ.get(HISTORY_ENV) or Path.home() / ".pyxos_history")


def terminal_lines() -> Iterator[str]:
    """Lines typed at the terminal after a prompt, edited with readline, with the history of
    earlier runs loaded at the start and saved at the end."""
    try:
        import readline
    except ImportError:  # a Python built without it: plain input, no history
        readline = None  # type: ignore[assignment]
    path = history_file()
    if readline is not None:
        readline.set_history_length(HISTORY_LENGTH)
        with contextlib.suppress(OSError):  # the first run, or an unreadable file: afresh
            readline.read_history_file(path)
    try:
        while True:
            try:
                line = input(PROMPT)
            except EOFError:
                print()
                return
            if readline is not None and line.strip() in EXIT_WORDS:
                # Leaving is not worth recalling: the up arrow should bring back a command.
                readline.remove_history_item(readline.get_current_history_length() - 1)
            yield line
    finally:
        if readline is not None:
            try:
                readline.write_history_file(path)
            except OSError as exc:
                print(f"pyxos shell: cannot save the history to {path}: {exc}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    members = resolve_members("pyxos shell", args)
    if isinstance(members, int):
        return members
    endpoints = [str(m.client) for m in members]
    client = Client(endpoints, timeout_s=args.timeout, attempt_timeout_s=min(args.timeout, 5.5))
    shell = Shell(members, client, timeout_s=args.timeout)
    lines = terminal_lines() if sys.stdin.isatty() else iter(sys.stdin.readline, "")
    try:
        serve(shell, lines, sys.stdout)
    except KeyboardInterrupt:
        print()
    finally:
        shell.close()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pyxos shell", description="An interactive shell.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())


def _seconds(text: str) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if 0 < seconds <= 3600 else None


def _fault_injection_off(what: str, node: str) -> str:
    return (
        f"{what}: fault injection is off on {node}: start the cluster with "
        "`pyxos up --fault-injection` (or fault_injection = true in its cluster file)"
    )
