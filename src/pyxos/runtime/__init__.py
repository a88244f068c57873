"""The asyncio driver of a node: runner (effects in order, group commit), peer transport,
HTTP API, configuration and the process that ties them together.

This is an I/O layer. It drives the same pure `pyxos.node.Node` as the simulator does.
"""
