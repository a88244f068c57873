"""The service layer: what clients talk to, above the runtime that drives a node.

`pyxos.service` holds I/O edges only: the HTTP routes (`kv_routes`, `gopaxos_routes`,
`paxi_routes`, `admin_routes`), their shared input checks and errors, and the renderings they
serve (`log_print`, `metrics`, `status_page`, `openapi`). `pyxos.service.app` assembles
them into one aiohttp application.
"""
