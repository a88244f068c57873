"""The HTTP API of a node (aiohttp): one application assembled from `pyxos.service`.

The route families (reference: docs/api.md, and `GET /openapi.json` on any node):

- `/v1/kv/{key}`, `/v1/cas/{key}`, `/v1/kv?prefix=`: the versioned key-value API
  (`service.kv_routes`), with writes fenced by a lock's token;
- `/v1/locks/{name}`: leases with fencing tokens (`service.lock_routes`);
- `/v1/ask/{key}`, `/v1/queues/{name}`, `/v1/map/{key}`: per-key consensus, FIFO queues and a
  versioned map (`service.coordination_routes`);
- `/store/set`, `/store/set/<key>/<value>`, `/store/get/<key>`, `/store/nop`, `/crash`,
  `/log/print/<file>`: GoPaxos' routes (`service.gopaxos_routes`); `/crash` only with
  `fault_injection=True`;
- `/<key>` and `POST /`: Paxi's routes, `Id`/`Cid` as labels or, when asked, an exactly-once
  session (`service.paxi_routes`);
- `/status`, `/healthz`, `/metrics`, `/openapi.json`, the cluster's view
  (`/v1/cluster/status`, `/v1/cluster/events`) and the status page `GET /`
  (`service.admin_routes`);
- with `fault_injection=True`, injected faults: `/v1/admin/faults` (`service.admin_routes`),
  Paxi's `/drop`, `/slow`, `/flaky` and `/crash?t=` (`pyxos.runtime.faults`).

Every error is JSON, `{"code": ..., "message": ...}`, with a code from `service.errors.ERRORS`,
including the 400 to a request that is not HTTP at all (`service.http_server`, which also holds
each connection to a header deadline and bounds the idle ones).
Every node serves every route: writes are forwarded to the leader by the node itself, and
linearizable reads are served locally after a read index confirmed through the leader.

Precedence: each specific path answers every method itself (405 for the ones it lacks), and
the Paxi catch-all `/{key}` is registered last and refuses the reserved first segments, so a
specific route always wins.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from pyxos.runtime.config import HostPort
from pyxos.runtime.runner import NodeRunner
from pyxos.runtime.status import NodeStatus
from pyxos.service.admin_routes import AdminRoutes
from pyxos.service.cluster_view import ClusterWatcher
from pyxos.service.coordination_routes import CoordinationRoutes
from pyxos.service.errors import Handler, Routes, add_resource, errors_middleware
from pyxos.service.gopaxos_routes import GoPaxosRoutes
from pyxos.service.http_server import GuardedRunner, ServerLimits, disconnects_middleware
from pyxos.service.inputs import BODY_BYTES_MAX, KEY_BYTES_MAX, VALUE_BYTES_MAX
from pyxos.service.kv_ops import KvStore
from pyxos.service.kv_routes import KvRoutes
from pyxos.service.lock_routes import LockRoutes
from pyxos.service.metrics import HttpCounters
from pyxos.service.paxi_routes import PaxiRoutes

__all__ = ["KEY_BYTES_MAX", "VALUE_BYTES_MAX", "ServerLimits", "build_app", "serve"]

PAXI_KEY_PATH = "/{key:.+}"
SHUTDOWN_TIMEOUT_S = 2.0


def _merge(families: list[Routes]) -> Routes:
    merged: Routes = {}
    for family in families:
        for path, handlers in family.items():
            target: dict[str, Handler] = merged.setdefault(path, {})
            clash = target.keys() & handlers.keys()
            if clash:
                raise RuntimeError(f"{path}: {sorted(clash)} registered twice")
            target.update(handlers)
    return merged


def build_app(
    runner: NodeRunner,
    status: Callable[[], NodeStatus],
    *,
    fault_injection: bool = False,
) -> web.Application:
    """The application serving `runner`'s node; `status()` is the body of `/status`.

    `fault_injection=True` enables `GET /crash`, which ends the process, and the fault routes.
    """
    store = KvStore(runner)
    http = HttpCounters()
    watcher = ClusterWatcher(node=runner.node_id, status=status, quorums=runner.node.config.quorums)
    # Bodies are limited per route (service.inputs); this is only aiohttp's own backstop.
    app = web.Application(
        client_max_size=BODY_BYTES_MAX,
        middlewares=[http.middleware(), errors_middleware, disconnects_middleware],
    )
    routes = _merge(
        [
            AdminRoutes(
                runner, status, http, watcher=watcher, fault_injection=fault_injection
            ).routes(),
            KvRoutes(store).routes(),
            LockRoutes(runner).routes(),
            CoordinationRoutes(runner).routes(),
            GoPaxosRoutes(store, fault_injection=fault_injection).routes(),
            PaxiRoutes(store, fault_injection=fault_injection).routes(),
        ]
    )
    catch_all = routes.pop(PAXI_KEY_PATH)
    for path, handlers in routes.items():
        add_resource(app.router, path, handlers)
    add_resource(app.router, PAXI_KEY_PATH, catch_all)

    async def close_watcher(app: web.Application) -> None:
        await watcher.close()

    app.on_cleanup.append(close_watcher)
    return app


async def serve(
    app: web.Application, address: HostPort, limits: ServerLimits | None = None
) -> GuardedRunner:
    """Start serving `app` on `address`; the caller `cleanup()`s the returned runner.

    Connections are held to `limits` (`service.http_server`: a header deadline, a bound on
    idle connections, the keep-alive timeout); malformed requests get a short 400 and one
    warning line.
    """
    # Requests still open at shutdown were already answered by the stopping runner; a client
    # that sends nothing more must not hold the process for aiohttp's default 60 s.
    app_runner = GuardedRunner(
        app,
        limits or ServerLimits(),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    await app_runner.setup()
    site = web.TCPSite(app_runner, address.host, address.port, reuse_address=True)
    await site.start()
    return app_runner
