"""The pure Multi-Paxos protocol core: no I/O, no clocks, no global randomness."""
