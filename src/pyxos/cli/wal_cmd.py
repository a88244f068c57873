"""`pyxos wal ...`: offline tools for a node's write-ahead log directory.

    pyxos wal inspect DIR [--summary]   one line per record, then a summary
    pyxos wal verify DIR                check everything; say whether the node can start

DIR is a log directory, or a node's data directory (`<data_dir>/node-<k>`): then its `wal/`.
A directory that holds no log is an error, never `ok: 0 records`. Both only read: a torn tail
is reported, not truncated (the node truncates it when it opens the log). Run them on a stopped
node's directory; on a running node the tail may be moving. `verify -o json` prints `{"ok",
"directory", "records", "segments", "repairable", "error", "notes"}`.

Exit codes: 0 the log is clean or has only a repairable torn tail (the output says which);
1 the log or its snapshot is corrupt (the message names the file and byte offset); 2 the
directory cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO, assert_never

from pyxos.cli.output import add_output_argument, print_json
from pyxos.core.ids import Ballot
from pyxos.core.io import DurableRecord as Record
from pyxos.core.protocol import AcceptFact, DecideFact, PromiseFact
from pyxos.storage.errors import StorageError
from pyxos.storage.snapshot import snapshot_paths
from pyxos.storage.wal import DirectoryScan, directory_codec, scan_directory, segment_paths
from pyxos.wire.log_frames import Clean, Corrupt, TornTail

EXIT_OK = 0
EXIT_CORRUPT = 1
EXIT_UNREADABLE = 2
WAL_SUBDIRECTORY = "wal"
REBUILD_HINT = (
    "the node must not start from this directory; rebuild it from its peers "
    "(docs/storage.md, 'Rebuilding a node')"
)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "wal",
        help="inspect or verify a node's write-ahead log directory (offline)",
        description="Offline tools for a node's write-ahead log directory. They only read.",
    )

    def no_subcommand(args: argparse.Namespace) -> int:
        del args
        parser.print_help(sys.stderr)
        return EXIT_UNREADABLE

    parser.set_defaults(func=no_subcommand)
    actions = parser.add_subparsers(dest="wal_command", metavar="ACTION")
    epilog = (
        "exit status: 0 clean, or only a torn tail that the next open repairs; 1 corrupt "
        "(the message names the file and byte offset); 2 the directory cannot be read."
    )
    inspect = actions.add_parser(
        "inspect",
        help="list records (offset, type, slot, ballot, batch size, checksum) and a summary",
        description="List every record of the log, then a summary.",
        epilog=epilog,
    )
    inspect.add_argument(
        "directory", metavar="DIR", help="the node's log directory, or its data directory"
    )
    inspect.add_argument("--summary", action="store_true", help="print only the summary")
    add_output_argument(inspect)
    inspect.set_defaults(func=run_inspect)
    verify = actions.add_parser(
        "verify",
        help="check checksums, segment order and the snapshot; exit 1 if corrupt",
        description="Check the whole log directory and say whether a node can start from it.",
        epilog=epilog,
    )
    verify.add_argument(
        "directory", metavar="DIR", help="the node's log directory, or its data directory"
    )
    add_output_argument(verify)
    verify.set_defaults(func=run_verify)


def log_directory(directory: Path) -> Path | str:
    """The log directory DIR names: itself when it holds a log, else a node's data directory's
    `wal/`; or why there is none."""
    if not directory.is_dir():
        return f"{directory}: not a directory"
    if segment_paths(directory) or snapshot_paths(directory):
        return directory
    wal = directory / WAL_SUBDIRECTORY
    if wal.is_dir():
        return wal
    nodes = sorted(p for p in directory.glob("node-*") if (p / WAL_SUBDIRECTORY).is_dir())
    if nodes:
        return (
            f"{directory} is a cluster's data directory: give one node's, "
            f"e.g. {nodes[0]} (or its {WAL_SUBDIRECTORY}/)"
        )
    return (
        f"{directory}: no write-ahead log here (no wal-*.log segment, no snapshot, "
        f"no {WAL_SUBDIRECTORY}/ directory): give a node's data directory or its "
        f"{WAL_SUBDIRECTORY}/"
    )


def _scan(directory: str, prog: str) -> DirectoryScan | None:
    path = log_directory(Path(directory))
    if isinstance(path, str):
        print(f"{prog}: {path}", file=sys.stderr)
        return None
    try:
        return scan_directory(path, directory_codec(path))
    except StorageError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None
    except OSError as exc:
        print(f"{prog}: cannot read {directory}: {exc}", file=sys.stderr)
        return None


def run_inspect(args: argparse.Namespace) -> int:
    scan = _scan(args.directory, "pyxos wal inspect")
    if scan is None:
        return EXIT_UNREADABLE
    if args.output == "json":
        document = _summary(scan)
        if not args.summary:
            document["segments"] = _segments(scan)
        print_json(document)
        return EXIT_CORRUPT if scan.error is not None else EXIT_OK
    out = sys.stdout
    if not args.summary:
        _print_records(scan, out)
    _print_summary(scan, out)
    return EXIT_CORRUPT if scan.error is not None else EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    scan = _scan(args.directory, "pyxos wal verify")
    if scan is None:
        return EXIT_UNREADABLE
    records = sum(len(seg.frames) for seg in scan.segments)
    if args.output == "json":
        print_json(
            {
                "ok": scan.error is None,
                "directory": str(scan.directory),
                "records": records,
                "segments": len(scan.segments),
                "repairable": None if scan.torn is None else _torn_text(scan),
                "error": None if scan.error is None else str(scan.error),
                "notes": _notes(scan),
            }
        )
        return EXIT_CORRUPT if scan.error is not None else EXIT_OK
    if scan.error is not None:
        print(f"corrupt: {scan.error}")
        print(REBUILD_HINT)
        return EXIT_CORRUPT
    print(f"ok: {scan.directory}: {records} records in {len(scan.segments)} segments")
    if scan.torn is not None:
        print(f"repairable: {_torn_text(scan)}")
    for note in _notes(scan):
        print(f"note: {note}")
    return EXIT_OK


def _torn_text(scan: DirectoryScan) -> str:
    assert scan.torn is not None
    torn, path = scan.torn, scan.segments[-1].path.name
    return (
        f"torn tail at {path} byte offset {torn.offset} ({torn.reason}); the next open "
        f"truncates these {torn.end - torn.offset} bytes (a write a crash cut short)"
    )


def _notes(scan: DirectoryScan) -> list[str]:
    leftovers = (*scan.obsolete_segments, *scan.obsolete_snapshots, *scan.temp_files)
    return [
        f"{p.name} is left over from an interrupted step; the next open deletes it"
        for p in leftovers
    ]


def _instance_text(instance: tuple[bytes, int]) -> str:
    """A slot, or `object:slot` for a protocol with a log per object."""
    obj, slot = instance
    return str(slot) if not obj else f"{obj.decode(errors='backslashreplace')}:{slot}"


def _describe(record: Record, scan: DirectoryScan) -> tuple[str, str, Ballot | None, str]:
    """(type, slot, ballot, batch size) columns of one record."""
    match scan.protocol.fact(record):
        case PromiseFact(ballot=ballot):
            return "promised", "-", ballot, "-"
        case AcceptFact(instance=instance, ballot=ballot, batch=batch):
            return "accepted", _instance_text(instance), ballot, str(len(batch))
        case DecideFact(instance=instance, batch=batch):
            return "decided", _instance_text(instance), None, str(len(batch))
        case None:
            return type(record).__name__, "-", None, "-"
        case unreachable:
            assert_never(unreachable)


def _print_records(scan: DirectoryScan, out: TextIO) -> None:
    for seg in scan.segments:
        out.write(f"{seg.path.name}  (first seq {seg.first_seq}, {seg.size_bytes} bytes)\n")
        out.write(f"{'offset':>12}  {'seq':>10}  {'type':<9} {'slot':>10}  {'ballot':>9}")
        out.write(f"  {'batch':>5}  checksum\n")
        for index, frame in enumerate(seg.frames):
            kind, slot, ballot, batch = _describe(frame.record, scan)
            out.write(
                f"{frame.offset:>12}  {seg.first_seq + index:>10}  {kind:<9} {slot:>10}  "
                f"{'-' if ballot is None else str(ballot):>9}  {batch:>5}  ok\n"
            )
        match seg.end:
            case Clean():
                pass
            case TornTail(offset=offset, reason=reason):
                out.write(f"{offset:>12}  torn tail: {reason} (repairable)\n")
            case Corrupt(offset=offset, reason=reason):
                out.write(f"{offset:>12}  BAD: {reason}\n")
            case unreachable:
                assert_never(unreachable)


def _segments(scan: DirectoryScan) -> list[dict[str, Any]]:
    """Every segment and its records, for `-o json`."""
    segments = []
    for seg in scan.segments:
        records = []
        for index, frame in enumerate(seg.frames):
            kind, slot, ballot, batch = _describe(frame.record, scan)
            records.append(
                {
                    "offset": frame.offset,
                    "seq": seg.first_seq + index,
                    "type": kind,
                    "slot": None if slot == "-" else slot,
                    "ballot": None if ballot is None else str(ballot),
                    "batch": None if batch == "-" else int(batch),
                }
            )
        end: dict[str, Any] = {"state": "clean"}
        if isinstance(seg.end, TornTail):
            end = {"state": "torn", "offset": seg.end.offset, "reason": seg.end.reason}
        elif isinstance(seg.end, Corrupt):
            end = {"state": "corrupt", "offset": seg.end.offset, "reason": seg.end.reason}
        segments.append(
            {
                "name": seg.path.name,
                "first_seq": seg.first_seq,
                "bytes": seg.size_bytes,
                "records": records,
                "end": end,
            }
        )
    return segments


def _summary(scan: DirectoryScan) -> dict[str, Any]:
    """What the summary says, as values (for `-o json`, and the plain summary prints it)."""
    kinds: Counter[str] = Counter()
    slot_min: int | None = None
    slot_max: int | None = None
    promise: Ballot | None = None
    for seg in scan.segments:
        for frame in seg.frames:
            kind, _, _, _ = _describe(frame.record, scan)
            kinds[kind] += 1
            match scan.protocol.fact(frame.record):
                case PromiseFact(ballot=ballot):
                    promise = ballot if promise is None else max(promise, ballot)
                case AcceptFact(instance=(_, slot)) | DecideFact(instance=(_, slot)):
                    slot_min = slot if slot_min is None else min(slot_min, slot)
                    slot_max = slot if slot_max is None else max(slot_max, slot)
                case _:
                    pass
    snap = scan.snapshot
    if snap is not None and (promise is None or snap.promised > promise):
        promise = snap.promised
    state = "clean"
    if scan.error is not None:
        state = "corrupt"
    elif scan.torn is not None:
        state = "repairable"
    return {
        "directory": str(scan.directory),
        "protocol": scan.protocol.wire_name,
        "segment_names": [seg.path.name for seg in scan.segments],
        "bytes": sum(seg.size_bytes for seg in scan.segments),
        "records": sum(kinds.values()),
        "by_type": {k: kinds[k] for k in ("promised", "accepted", "decided")},
        "slots": None if slot_min is None else [slot_min, slot_max],
        "promise": None if promise is None else str(promise),
        "snapshot": None
        if snap is None or scan.snapshot_path is None
        else {
            "file": scan.snapshot_path.name,
            "slot": snap.slot,
            "promise": str(snap.promised),
            "state_bytes": len(snap.state),
            "log_kept_from_seq": scan.first_seq_kept,
        },
        "notes": _notes(scan),
        "state": state,
        "error": None if scan.error is None else str(scan.error),
        "repairable": None if scan.torn is None else _torn_text(scan),
    }


def _print_summary(scan: DirectoryScan, out: TextIO) -> None:
    summary = _summary(scan)
    names = summary["segment_names"]
    span = f" ({names[0]} .. {names[-1]})" if names else ""
    out.write("summary\n")
    out.write(f"  directory  {summary['directory']}\n")
    out.write(f"  protocol   {summary['protocol']}\n")
    out.write(f"  segments   {len(names)}{span}, {summary['bytes']} bytes\n")
    by_kind = ", ".join(f"{k} {n}" for k, n in summary["by_type"].items())
    out.write(f"  records    {summary['records']}: {by_kind}\n")
    slots = summary["slots"]
    out.write(f"  slots      {'none' if slots is None else f'{slots[0]}..{slots[1]}'}\n")
    promise = summary["promise"] or "none"
    out.write(f"  promise    {promise} (highest, log and snapshot)\n")
    snap = summary["snapshot"]
    if snap is not None:
        out.write(
            f"  snapshot   {snap['file']}: slot {snap['slot']}, promise {snap['promise']}, "
            f"state {snap['state_bytes']} bytes, log kept from seq {snap['log_kept_from_seq']}\n"
        )
    else:
        out.write("  snapshot   none\n")
    for note in summary["notes"]:
        out.write(f"  note       {note}\n")
    if scan.error is not None:
        out.write(f"  state      CORRUPT: {scan.error}\n")
        out.write(f"             {REBUILD_HINT}\n")
    elif scan.torn is not None:
        out.write(f"  state      repairable: {_torn_text(scan)}\n")
    else:
        out.write("  state      clean\n")
