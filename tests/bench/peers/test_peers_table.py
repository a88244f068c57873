"""The side-by-side table: ratios to pyxos's fast protocol at the same point, the median of
repetitions, and the markdown it prints."""

from __future__ import annotations

import msgspec
import pytest

from pyxos.bench.peers.table import (
    PeerRow,
    markdown_table,
    median_row,
    per_op_ms,
    ratio,
    reference_of,
)


def row(
    system: str = "pyxos",
    protocol: str = "fast",
    operation: str = "writes",
    clients: int = 16,
    *,
    ops: int = 10_000,
    tput: float = 2_000.0,
    server_cpu_s: float = 5.0,
) -> PeerRow:
    return PeerRow(
        system=system,
        protocol=protocol,
        operation=operation,
        clients=clients,
        operations=ops,
        measured_s=5.0,
        throughput_ops_s=tput,
        p50_ms=1.234,
        p99_ms=12.34,
        errors=0,
        server_cpu_s=server_cpu_s,
        client_cpu_s=1.0,
    )


def test_cpu_per_operation_is_in_milliseconds_and_zero_without_operations() -> None:
    assert per_op_ms(5.0, 10_000) == pytest.approx(0.5)
    assert per_op_ms(5.0, 0) == 0.0
    assert row(server_cpu_s=5.0, ops=10_000).server_cpu_ms_per_op == pytest.approx(0.5)
    assert row(ops=10_000).client_cpu_ms_per_op == pytest.approx(0.1)


def test_the_reference_is_pyxos_fast_at_the_same_operation_and_clients() -> None:
    fast16 = row()
    rows = [row(clients=1), fast16, row(protocol="http"), row(operation="reads")]
    assert reference_of(row("etcd", "http"), rows) is fast16
    assert reference_of(row("etcd", "http", clients=64), rows) is None


def test_a_ratio_to_nothing_is_none() -> None:
    assert ratio(3.0, 2.0) == pytest.approx(1.5)
    assert ratio(3.0, 0.0) is None


def test_the_median_repetition_is_kept_whole() -> None:
    runs = [row(tput=t, server_cpu_s=t / 1000) for t in (300.0, 100.0, 200.0)]
    assert median_row(runs) is runs[2]
    assert median_row(runs[:2]).throughput_ops_s == 100.0
    with pytest.raises(ValueError):
        median_row([])


def test_the_table_gives_each_row_its_ratios_to_pyxos() -> None:
    rows = [
        row(tput=2_000.0, server_cpu_s=5.0),
        row("etcd", "http", tput=1_000.0, server_cpu_s=10.0, ops=5_000),
        row("pysyncobj", "tcp-batch", clients=64, tput=100.0),
    ]
    lines = markdown_table(rows).splitlines()
    assert lines[0].startswith("| system | protocol | op | clients | ops/s | p50 ms | p99 ms |")
    assert lines[1] == "|" + " --- |" * 11
    assert lines[2] == (
        "| pyxos | fast | writes | 16 | 2,000 | 1.23 | 12.3 | 0.500 | 0.100 | 1.00x | 1.00x |"
    )
    # Half the throughput at four times the server CPU per operation (2 ms against 0.5 ms).
    assert lines[3].endswith("| 1,000 | 1.23 | 12.3 | 2.000 | 0.200 | 0.50x | 4.00x |")
    assert lines[4].endswith("| - | - |")  # no pyxos row at 64 clients


def test_errors_show_beside_the_throughput() -> None:
    failing = msgspec.structs.replace(row(), errors=3)
    assert "| 2,000 (3 errors) |" in markdown_table([failing])
