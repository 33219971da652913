"""The benchmark harness still runs (tiny shapes, one round): it produces rows, and nothing here
looks at the times (speed is reported by ``make bench``, never asserted by tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import run


def _rows(tmp_path: Path, *extra: str) -> list[run.Row]:
    out = tmp_path / "results.md"
    rows = run.main(["--tiny", "--rounds", "1", "--threads", "1", "--no-probe",
                     "--out", str(out), *extra])
    assert out.read_text().startswith("# Benchmark results")
    return rows


def test_every_workload_yields_a_forward_and_a_training_row(tmp_path: Path) -> None:
    rows = _rows(tmp_path, "--no-torch")
    keys = {w.key for w in run.workloads("tiny")}
    assert {(r.workload.key, r.training) for r in rows} == {
        (k, t) for k in keys for t in (False, True)
    }
    assert all(r.ms["cnnblocks"] > 0 and r.ratio is None for r in rows)


@pytest.mark.torch
def test_pytorch_columns_and_ratios_are_filled(tmp_path: Path) -> None:
    rows = _rows(tmp_path, "--only", "vgg")
    assert len(rows) == 4  # max and avg, forward and training
    for r in rows:
        assert {"cnnblocks", "cnnblocks NHWC", "torch NCHW", "torch channels_last"} <= set(r.ms)
        assert r.ratio is not None


def test_bytes_moved_counts_inputs_and_outputs_once() -> None:
    w = run.Workload("t", "t", "max", (1, 1, 4, 4), 2, 2, 0)
    assert run.bytes_moved(w, training=False) == 4 * (16 + 4)
    # training: x -> (y, int64 indices); (grad_y, indices) -> grad_x
    assert run.bytes_moved(w, training=True) == (4 * 16 + 4 * 4 + 8 * 4) + (4 * 4 + 8 * 4 + 4 * 16)


def test_the_operators_benchmark_runs_every_case(tmp_path: Path) -> None:
    from benchmarks import bench_operators

    out = tmp_path / "operators.md"
    rows = bench_operators.main(["--tiny", "--rounds", "1", "--threads", "1", "--no-torch",
                                 "--out", str(out)])
    keys = {c.key for c in bench_operators.cases("tiny")}
    assert {(r.case.key, r.training) for r in rows} == {(k, t) for k in keys for t in (0, 1)}
    assert all(r.ms["cnnblocks"] > 0 and r.ratio is None for r in rows)
    assert out.read_text().startswith("# Other operators")
