"""bench/job_overhead.py: what it computes from given inputs (its timings are not tested)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import REPO

SCRIPTS = REPO / "workflow" / "scripts"


def _module():
    spec = importlib.util.spec_from_file_location("job_overhead", REPO / "bench" / "job_overhead.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_copy_keeps_the_preamble_and_runs_this_checkouts_script():
    bench = _module()
    kept = (
        "######## snakemake preamble start (automatically inserted, do not edit) ########\n"
        "import sys; snakemake = 1\n" + bench.PREAMBLE_END + "print('the script of the run')\n"
    )
    copy = bench.job_copy(kept, "print('this checkout')\n", Path("/lib/here"))
    preamble, rest = copy.split(bench.PREAMBLE_END)
    assert preamble + bench.PREAMBLE_END == kept.split("print('the script")[0]
    assert rest == "import sys; sys.path.insert(0, '/lib/here')\nprint('this checkout')\n"
    with pytest.raises(ValueError, match="preamble"):
        bench.job_copy("print(1)\n", "")


def test_network_rules_found_by_their_script_setup():
    bench = _module()
    assert bench.runs_network("log = script_setup(smk, network=True)  # first")
    assert not bench.runs_network("log = script_setup(smk)  # first: OpenMP ...\nnetwork = True")
    assert bench.runs_network((SCRIPTS / "train_autoencoder.py").read_text())
    assert not bench.runs_network((SCRIPTS / "cluster_kmeans.py").read_text())


def test_summary_rows_medians_and_target():
    bench = _module()
    samples = [
        {"rule": "a", "wall": w, "computation": c, "torch": False} for w, c in [(2.0, 0.1), (1.0, 0.2), (3.0, 0.3)]
    ]
    samples += [{"rule": "b", "wall": 0.9, "computation": 0.5, "torch": True}]
    rows = bench.summary_rows(samples, target=1.5)
    assert [r["rule"] for r in rows] == ["a", "b"]  # most start-up first
    a, b = rows
    assert (a["jobs"], a["wall"], a["computation"]) == (3, 2.0, 0.2)
    assert (
        a["startup"] == pytest.approx(1.9) and not a["met"]
    )  # per job 1.9, 0.8, 2.7: not wall - computation of the medians
    assert b["startup"] == pytest.approx(0.4) and b["met"] and b["torch"]
    text = bench.table(rows, target=1.5)
    assert "| a | 3 | 2.00 | 0.20 | 1.90 | no | no |" in text and "| b | 1 | 0.90 | 0.50 | 0.40 | yes | yes |" in text
