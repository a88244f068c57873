"""Faults on a real cluster: process control, a fault schedule, a recorded workload, and the
checks that turn a run into one verdict (`pyxos chaos`; docs/chaos.md)."""
