"""bench/scale.py's growth and projection (docs/scaling.md): how a job measured at three N
is projected to 1M and 10M images, and what the workflow would declare there."""

from __future__ import annotations

import importlib.util

import pytest
from aeclust import resources
from conftest import REPO


def _scale():
    spec = importlib.util.spec_from_file_location("_scale_bench", REPO / "bench" / "scale.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _job(rule, wall, peak, input_mb):
    return {"rule": rule, "wall_s": wall, "peak_mb": peak, "input_mb": input_mb, "mem_mb": 1000, "runtime_min": 5}


def _results(jobs_by_n: dict[int, dict]) -> dict:
    settings = {"epochs": 2, "image_size": 32, "n_init": 10, "umap": True}
    return {"settings": settings, "runs": {str(n): {"jobs": jobs} for n, jobs in jobs_by_n.items()}}


RESULTS = _results(
    {
        n: {
            # a figure of the loss per epoch: the same small input at every N, its peak noise
            "plot_training/ae_e2": _job("plot_training", 0.9, {1_000: 130, 10_000: 134, 100_000: 164}[n], 0.04),
            # grows with its input: 1 MB of input per 1,000 images, 2 MB of memory per MB
            "cluster_kmeans/ae_e2_s0": _job("cluster_kmeans", 1 + n / 10_000, 150 + 2 * n / 1_000, n / 1_000),
            # a folder measured by its entry: the same few KB, its cost grows all the same
            "import_images": _job("import_images", 1 + n / 1_000, 130 + n / 1_000, 0.05),
        }
        for n in (1_000, 10_000, 100_000)
    }
)


def test_a_job_whose_input_does_not_grow_is_projected_as_measured():
    g = _scale().growth(RESULTS["runs"])
    row = g["plot_training/ae_e2"]
    assert not row["input_grows"]
    assert row["peak_mb"]["projected"] == {"1000000": 164, "10000000": 164}
    # the others along their measured line, the import's folder notwithstanding
    assert g["cluster_kmeans/ae_e2_s0"]["peak_mb"]["projected"]["10000000"] == pytest.approx(150 + 2 * 10_000)
    assert g["import_images"]["input_grows"]
    assert g["import_images"]["peak_mb"]["projected"]["10000000"] == pytest.approx(130 + 10_000)


def test_the_import_is_declared_by_its_images_at_the_target_size():
    """At 10M images the import asks what the workflow computes from 10M grey 32x32 images,
    not from its folder's entry; a rule sized by its input follows the projected input."""
    declared = _scale().declared_projection(RESULTS, REPO, epochs=2)
    ten_million = resources.import_mb(10_000_000, 32, 32, 1)
    assert declared["import_images"]["10000000"]["mem_mb"] == resources.mem_mb("import_images", ten_million)
    assert declared["import_images"]["10000000"]["mem_mb"] > 10_000 + 130  # above the projected peak
    kmeans = declared["cluster_kmeans/ae_e2_s0"]["10000000"]
    assert kmeans["input_mb"] == pytest.approx(10_000) and kmeans["mem_mb"] == resources.mem_mb(
        "cluster_kmeans", 10_000
    )


def test_the_projection_table_says_whether_declared_values_cover_10M():
    scale = _scale()
    results = {**RESULTS, "declared_projection": scale.declared_projection(RESULTS, REPO, epochs=2)}
    rows = {line.split("|")[1].strip(): line for line in scale.projection_table(results).splitlines()[2:]}
    assert rows["import_images"].rstrip(" |").endswith(": OK")
    assert rows["plot_training/ae_e2"].rstrip(" |").endswith("(fixed): OK")
