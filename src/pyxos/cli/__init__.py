"""Command-line entry points (`pyxos ...`)."""
