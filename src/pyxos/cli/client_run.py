"""Running a command through the Python client: the client from where the cluster is
(`cluster_args`), every error as one line on stderr, and the exit statuses every command that
talks to the cluster shares:

0 done; 1 what was asked for is absent or not so (a key, a lock, a version; nothing written);
2 a usage error (bad arguments, a key or value too large, a bad cluster file or address);
3 the cluster did not answer (unavailable, timeout, no quorum: after a timeout a write may
still have been applied).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from pyxos.cli.cluster_args import cluster_target
from pyxos.client import BadRequest, Client, PyxosError, Unavailable
from pyxos.runtime.config import ConfigError

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

ATTEMPT_TIMEOUT_S_MAX = 5.5


def fail(name: str, message: str, status: int) -> int:
    """Print `name: error: message` on stderr; `status`."""
    print(f"{name}: error: {message}", file=sys.stderr)
    return status


def run_with_client(name: str, args: argparse.Namespace, action: Callable[[Client], int]) -> int:
    """Build the client from `--config` / `--endpoints` / `$PYXOS_ENDPOINTS` / `--timeout`,
    run `action` with it, and turn every error into one line on stderr and an exit status."""
    if args.timeout <= 0:
        return fail(name, "--timeout must be positive", EXIT_USAGE)
    target = cluster_target(args)
    try:
        with Client(
            target.endpoints,
            config=target.config,
            timeout_s=args.timeout,
            attempt_timeout_s=min(args.timeout, ATTEMPT_TIMEOUT_S_MAX),
        ) as client:
            return action(client)
    except BadRequest as exc:  # and TooLarge
        return fail(name, str(exc), EXIT_USAGE)
    except Unavailable as exc:
        # Found through no flag: say where it was looked for, and how to point elsewhere.
        hint = "" if target.source.startswith("--") else f" ({target.hint()})"
        return fail(name, f"{exc}{hint}", EXIT_UNAVAILABLE)
    except PyxosError as exc:
        return fail(name, str(exc), EXIT_UNAVAILABLE)
    except (ConfigError, ValueError) as exc:  # a bad cluster file, endpoint or timeout
        return fail(name, str(exc), EXIT_USAGE)
