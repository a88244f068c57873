"""Pure replicated state machines: deterministic `apply`, `query`, `snapshot`, `restore`."""
