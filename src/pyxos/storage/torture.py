"""A writer process for crash tests: `python -m pyxos.storage.torture DIR`.

It opens the write-ahead log in DIR, checks what it recovered, and then appends records under
group commit until it is killed, printing one line per event on stdout (flushed at once). It
writes as a node does: batches handed to the group-commit writer (`pyxos.exec.writer`) behind a
barrier, snapshots in order with them, one write round (append, install, sync) at a time.

- `open K repaired=B`: recovery found records up to K (0 for none), B torn bytes truncated;
- `ack N`: every record up to N is durable (printed only after the sync that covers it);
- `snap S`: a snapshot covering up to S is durable;
- `fail N`: the log failed; N is the first record that is not acknowledged. Exit status 74.

Record N is `AcceptedValue(slot=N, ...)` with a payload derived from N, so recovery can check
every record's content as well as the order: the log must hold consecutive slots that continue
the snapshot. A recovery that fails (damage, or a log that breaks these rules) prints
`error ...` on stderr and exits with status 2.

Failpoints come from `PYXOS_FAILPOINTS` (see `pyxos.storage.failpoints`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from random import Random

from pyxos.core.commands import Command
from pyxos.core.ids import Ballot
from pyxos.core.io import DurableRecord
from pyxos.core.multipaxos import AcceptedValue
from pyxos.core.snapshot import Snapshot
from pyxos.exec.writer import GroupCommit
from pyxos.storage.errors import EXIT_STORAGE_FAILED, StorageError, StorageFailed
from pyxos.storage.logstore import LoadedLog, write_round
from pyxos.storage.wal import WriteAheadLog

EXIT_BAD_RECOVERY = 2
BALLOT = Ballot(1, 1)


def record(slot: int) -> AcceptedValue:
    op = f"value-{slot}-".encode() * (1 + slot % 3)
    return AcceptedValue(slot=slot, ballot=BALLOT, batch=(Command(client_id=1, seq=slot, op=op),))


def machine_bytes(slot: int) -> bytes:
    return f"applied-up-to-{slot}".encode()


def check_recovered(loaded: LoadedLog) -> int:
    """The highest slot recovered. Raises `ValueError` if the log breaks the writer's rules."""
    covered = 0
    if loaded.snapshot is not None:
        covered = loaded.snapshot.slot
        if loaded.snapshot.state != machine_bytes(covered):
            raise ValueError(f"snapshot at {covered} has the wrong machine bytes")
    last: int | None = None
    for rec in loaded.records:
        match rec:
            case AcceptedValue(slot=slot) if rec == record(slot):
                pass
            case _:
                raise ValueError(f"unexpected record {rec!r}")
        if last is None and slot > covered + 1:
            raise ValueError(f"the log starts at {slot}, after a snapshot at {covered}")
        if last is not None and slot != last + 1:
            raise ValueError(f"slot {slot} follows {last}")
        last = slot
    return covered if last is None else max(last, covered)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pyxos.storage.torture")
    parser.add_argument("directory")
    parser.add_argument("--segment-bytes", type=int, default=64 * 1024)
    parser.add_argument("--snapshot-every", type=int, default=0, help="0: never")
    parser.add_argument("--window", type=int, default=8, help="batches per round, at most")
    parser.add_argument("--records-max", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    wal = WriteAheadLog(args.directory, segment_bytes_max=args.segment_bytes)
    try:
        loaded = wal.load()
        last = check_recovered(loaded)
    except (StorageError, ValueError) as exc:
        sys.stderr.write(f"error: recovery failed: {exc}\n")
        return EXIT_BAD_RECOVERY
    _say(f"open {last} repaired={loaded.repaired_bytes}")

    writer = GroupCommit()
    rng = Random(args.seed)
    acked = last
    next_slot = last + 1
    every = args.snapshot_every
    next_snapshot = (last // every + 1) * every if every else 0
    snapshot_at: int | None = None  # a snapshot handed over, durable with the next round
    try:
        while acked < args.records_max:
            # A round's worth of batches: each a barrier, as a node's accepts are.
            ends: list[int] = []
            for _ in range(rng.randint(1, args.window)):
                count = rng.randint(1, 4)
                batch: list[DurableRecord] = [
                    record(s) for s in range(next_slot, next_slot + count)
                ]
                writer.append(tuple(batch), barrier=True)
                next_slot += count
                ends.append(next_slot - 1)
            round_ = writer.take_round()
            assert round_ is not None
            write_round(wal, list(round_.items))
            writer.finish(round_)
            if snapshot_at is not None:
                _say(f"snap {snapshot_at}")
                snapshot_at = None
            for end in ends:
                acked = end
                _say(f"ack {end}")
            if next_snapshot and acked >= next_snapshot:
                writer.save_snapshot(
                    Snapshot(slot=acked, promised=BALLOT, state=machine_bytes(acked))
                )
                snapshot_at = acked
                next_snapshot = (acked // every + 1) * every
    except StorageFailed as exc:
        sys.stderr.write(f"storage failed: {exc}\n")
        _say(f"fail {acked + 1}")
        try:
            wal.append([record(next_slot)])
        except StorageFailed:
            return EXIT_STORAGE_FAILED
        sys.stderr.write("BUG: an append was accepted after the storage failed\n")
        return 1
    wal.close()
    return 0


if __name__ == "__main__":
    sys.exit(run())
