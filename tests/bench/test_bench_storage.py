"""`pyxos bench storage`: the group-commit figures come through the nodes' own write path, and
`-o json` gives every figure as a number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyxos.bench import storage
from pyxos.cli.main import main


def test_group_commit_through_the_executor_coalesces_many_submitters(tmp_path: Path) -> None:
    figures = storage.measure_group_commit(tmp_path, submitters=16, seconds=0.5)
    assert figures.records_per_s > 0
    # Sixteen submitters each waiting for their own record: rounds carry several of them.
    assert figures.batches_per_sync > 1.5


def test_json_output(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = storage.bench_storage

    def quick(directory: object, *, restart_records: int) -> storage.StorageBench:
        return real(
            None,
            submitters=(1, 4),
            fsync_seconds=0.2,
            commit_seconds=0.2,
            restart_records=restart_records,
        )

    monkeypatch.setattr(storage, "bench_storage", quick)
    assert main(["bench", "storage", "--restart-records", "1000", "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["fsyncs_per_s"] > 0
    assert [c["submitters"] for c in document["commit"]] == [1, 4]
    assert [r["records_loaded"] for r in document["restart"]] == [1000, 100]
