"""A client process for the coordination acceptance tests: increments a shared counter under a
lock, each write fenced with the grant's token, and prints one JSON line per event.

    python worker.py --config cluster.toml --name w1 --rounds 8 --increments 2 --ttl 5

Each round: wait for the lock, then `--increments` times read the counter and write it plus
one with `put_fenced`, then release. A write refused as stale (the lease ended under us: we
were paused past it, or cut off) ends the round early and the round is done again, so the counter
ends at exactly rounds x increments per worker. The counter's value is `count:token`, so that
every accepted write also shows the token of the write it replaced.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from pyxos.client import Client, NotHolder, StaleToken

LOCK = "counter"
KEY = "counter"


def emit(**event: object) -> None:
    print(json.dumps({"t": time.time(), **event}), flush=True)


def parse(value: bytes | None) -> tuple[int, int]:
    if value is None:
        return 0, 0
    count, token = value.decode().split(":")
    return int(count), int(token)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--increments", type=int, default=2)
    parser.add_argument("--ttl", type=float, default=5.0)
    parser.add_argument(
        "--hold", type=float, default=0.0, help="seconds between reading and writing"
    )
    args = parser.parse_args()
    done = 0
    with Client(config=args.config, timeout_s=30.0) as client:
        emit(event="ready", name=args.name)
        while done < args.rounds:
            lease = client.lock_wait(LOCK, args.name, args.ttl, timeout_s=120.0)
            assert lease.token is not None
            emit(
                event="granted", name=args.name, token=lease.token, remaining_ms=lease.remaining_ms
            )
            finished = True
            for _ in range(args.increments):
                count, _ = parse(client.get(KEY))
                if args.hold:
                    time.sleep(args.hold)  # the work done under the lock
                try:
                    previous = client.put_fenced(
                        KEY, f"{count + 1}:{lease.token}", lock=LOCK, token=lease.token
                    )
                except StaleToken:
                    emit(event="refused", name=args.name, token=lease.token)
                    finished = False
                    break
                before, before_token = parse(previous)
                emit(
                    event="write",
                    name=args.name,
                    token=lease.token,
                    value=count + 1,
                    previous=before,
                    previous_token=before_token,
                )
            emit(event="releasing", name=args.name, token=lease.token)
            try:
                client.lock_release(LOCK, args.name, lease.token)
                emit(event="released", name=args.name, token=lease.token)
            except NotHolder:
                emit(event="lost", name=args.name, token=lease.token)
            done += finished
    emit(event="done", name=args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
