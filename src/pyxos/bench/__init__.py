"""Benchmarks of a real cluster: Paxi's workload knobs, open and closed loops, latency
histograms, and the run's history for the linearizability checker.

`run_bench(options, endpoints)` (in `pyxos.bench.run`) is the library call behind
`pyxos bench run`; `pyxos.bench.matrix` is the grid behind `pyxos bench matrix` and
`make bench`. docs/BENCHMARKS.md describes the knobs and quotes the figures.
"""
