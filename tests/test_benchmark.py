"""bench/benchmark.py: its --quick mode runs in CI so that the benchmark never rots."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys

import pytest
import torch
from conftest import MIRROR, REPO, assert_same_numbers

BENCH = REPO / "bench" / "benchmark.py"


def _module():
    spec = importlib.util.spec_from_file_location("benchmark", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_csv_accumulates_runs(tmp_path):
    bench = _module()
    path = tmp_path / "out" / "b.csv"
    header = {
        "run": "r1",
        "mode": "quick",
        "commit": "abc",
        "host": "h",
        "cpu": "c",
        "cores": 2,
        "threads": 2,
        "device": "cpu",
        "load_start": "",
        "load_end": "",
    }
    bench.append_csv(path, [bench._row("kernels", "m", 1.5, "GFLOP/s")], header)
    bench.append_csv(path, [bench._row("kernels", "m", 2.0, "GFLOP/s", "x")], {**header, "run": "r2"})
    rows = list(csv.DictReader(path.open()))
    assert [(r["run"], r["metric"], float(r["value"])) for r in rows] == [("r1", "m", 1.5), ("r2", "m", 2.0)]
    assert list(rows[0]) == bench.CSV_FIELDS


@pytest.mark.e2e
def test_quick_benchmark(tmp_path, tiny_results):
    """The table and the CSV are complete. Its run of the tiny config is also the second
    run of the determinism check: on CPU it reports exactly the numbers of ``tiny_run``."""
    out, workdir = tmp_path / "bench.csv", tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--csv", str(out), "--mirror", str(MIRROR), "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = proc.stdout
    for metric in (
        "float32 matmul",
        "train conv",
        "train denoiser",
        "train classifier 784-",
        "train mlp 784-",
        "train mlp 784-500-500-2000-10 (N2D)",
        "tiny: end to end, download excluded",
        "tiny: no-op rerun (median of 3)",
        "tiny: jobs after pca.components 8 -> 4 (dry run)",
    ):
        assert f"| {metric}" in table, table
    assert "only PCA and its dependents: yes" in table, table
    rows = list(csv.DictReader(out.open()))
    bf16 = _module().resolve_precision("auto", torch.device("cpu")) == "bf16"  # native here: 3 more rows
    assert ("| train mlp 784-500-500-2000-10 (N2D), bf16 autocast" in table) == bf16, table
    # matmul rates on 1 and 2 threads (the networks' own), float32 and, where native, bfloat16
    assert "| float32 matmul 1024x1024, 1 thread " in table and "| float32 matmul 1024x1024, 2 threads" in table, table
    assert len(rows) == 15 + 4 * bf16 and all(r["mode"] == "quick" for r in rows)
    assert "critical path:" in table and "| train_autoencoder |" in table, table  # where the time went
    values = {(r["metric"], r["unit"]): float(r["value"]) for r in rows}
    assert all(v > 0 for v in values.values()), values
    assert (
        values[("tiny: jobs after pca.components 8 -> 4 (dry run)", "jobs")] >= 2
    )  # reduce_pca, one per seed at least
    assert_same_numbers(workdir / "results" / "mnist" / "tiny", tiny_results)  # determinism


def test_time_report_from_job_records():
    """Job-seconds per rule, and the critical path: back from the last job through the input
    whose producer finished last."""
    bench = _module()
    jobs = [
        {"rule": "a", "start": 0.0, "end": 1.0, "inputs": set(), "outputs": {"x"}},
        {"rule": "b", "start": 1.0, "end": 5.0, "inputs": {"x"}, "outputs": {"y"}},
        {"rule": "b", "start": 1.0, "end": 2.0, "inputs": {"x"}, "outputs": {"z"}},
        {"rule": "c", "start": 5.0, "end": 6.0, "inputs": {"y", "z", "elsewhere"}, "outputs": {"w"}},
    ]
    assert [j["outputs"] for j in bench.critical_path(jobs)] == [{"x"}, {"y"}, {"w"}]
    table = bench.rule_table(jobs, {"b": [4.5]})
    assert table[0] == ("b", 2, 5.0, 4.5) and ("a", 1, 1.0, None) in table
    assert [t[0] for t in bench.rule_table(jobs, {}, since=1.0)] == ["b", "c"]  # jobs of an earlier run left out


@pytest.mark.e2e
def test_each_network_is_measured_on_the_threads_its_rule_trains_it_with(tmp_path):
    from test_slurm import planned_jobs

    threads = {j["rule"]: j["threads"] for j in planned_jobs(tmp_path, configfile=None)}  # the default config
    measured = {label.split(" ")[0]: n for label, *_, n in _module().networks()}
    assert measured["conv"] == threads["train_autoencoder"], (measured, threads)
    assert measured["denoiser"] == threads["train_denoiser"] and measured["classifier"] == threads["train_classifier"]
