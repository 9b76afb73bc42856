"""The N2D steps: UMAP manifold and Gaussian mixture (library), their place in the DAG
(dry runs), and the tiny configuration's run of both (end to end)."""

import json

import numpy as np
import pandas as pd
import pytest
from aeclust.cluster import gmm, kmeans
from aeclust.manifold import embed_umap
from aeclust.metrics import evaluate
from conftest import REPO, dry_run_jobs, overlay, snakemake


def blobs(n_per=40, k=4, dim=20, spread=0.3, seed=0):
    """k well-separated Gaussian blobs: (features float32, labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 5, (k, dim))
    labels = np.repeat(np.arange(k), n_per)
    return (centres[labels] + rng.normal(0, spread, (len(labels), dim))).astype(np.float32), labels


# --- UMAP ---------------------------------------------------------------------------


def test_umap_keeps_blobs_apart_and_is_seeded():
    x, y = blobs()
    a = embed_umap(x, n_components=3, n_neighbors=10, min_dist=0.0, metric="euclidean", seed=3)
    b = embed_umap(x, n_components=3, n_neighbors=10, min_dist=0.0, metric="euclidean", seed=3)
    assert a.shape == (len(x), 3) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)  # same seed, same manifold
    clusters, _ = kmeans(a, k=4, n_init=2, max_iter=100, seed=0)
    assert evaluate(y, clusters, n_classes=4)[0]["accuracy"] == 1.0


def test_umap_other_metric_and_unseeded():
    x, y = blobs(seed=1)
    z = embed_umap(x, n_components=2, n_neighbors=8, min_dist=0.1, metric="cosine", seed=None, threads=2)
    assert z.shape == (len(x), 2) and np.isfinite(z).all()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"n_neighbors": 160}, "umap.n_neighbors: 160 neighbours for 160 samples (allowed: 2..159)"),
        ({"n_components": 159}, "umap.n_components: 159 dimensions for 160 samples (allowed: 1..158)"),
    ],
)
def test_umap_refuses_settings_the_data_cannot_support(kwargs, message):
    x, _ = blobs()
    settings = {"n_components": 2, "n_neighbors": 10, "min_dist": 0.0, "metric": "euclidean", "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        embed_umap(x, **settings)


# --- Gaussian mixture ---------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gmm_finds_blobs_with_every_covariance_type(covariance_type):
    x, y = blobs(dim=5)
    clusters, stats, confidence = gmm(x, k=4, covariance_type=covariance_type, n_init=2, max_iter=100, seed=0)
    assert clusters.dtype == np.int64 and clusters.shape == y.shape
    assert evaluate(y, clusters, n_classes=4)[0]["accuracy"] == 1.0
    assert stats["converged"] and stats["iterations"] >= 1 and np.isfinite(stats["log_likelihood"])
    # each image's confidence is its component's posterior: a probability, ~1 on separated blobs
    assert confidence.dtype == np.float32 and confidence.shape == y.shape
    assert (confidence <= 1.0).all() and confidence.min() > 0.9


def test_gmm_is_seeded_and_restarts_keep_the_best_likelihood():
    x, _ = blobs(n_per=30, k=6, dim=3, spread=2.0, seed=4)  # overlapping: EM has local optima
    a, sa, ca = gmm(x, 6, "full", n_init=1, max_iter=200, seed=7)
    b, sb, cb = gmm(x, 6, "full", n_init=1, max_iter=200, seed=7)
    assert np.array_equal(a, b) and sa == sb and np.array_equal(ca, cb)
    # the first of n_init restarts is the single run of the same seed; the best is kept
    for seed in range(3):
        single = gmm(x, 6, "full", n_init=1, max_iter=200, seed=seed)[1]["log_likelihood"]
        best = gmm(x, 6, "full", n_init=4, max_iter=200, seed=seed)[1]["log_likelihood"]
        assert best >= single - 1e-9


def test_gmm_reports_non_convergence_instead_of_failing(caplog):
    x, _ = blobs(dim=5, spread=3.0)
    with caplog.at_level("WARNING", logger="aeclust"):
        _, stats, _ = gmm(x, k=4, covariance_type="full", n_init=1, max_iter=1, seed=0)
    assert stats["iterations"] == 1 and not stats["converged"]
    assert "GaussianMixture" in caplog.text


# --- the DAG (dry runs: no data needed) ---------------------------------------------

EVERY_OPTION = """
clustering:
  kmeans: [raw, raw_umap, ae, ae_pca, ae_umap]
  gmm: [raw, raw_umap, ae, ae_pca, ae_umap]
"""


@pytest.mark.e2e
def test_every_algorithm_on_every_feature_kind(tmp_path):
    jobs = dry_run_jobs(tmp_path, configfile=overlay(tmp_path, EVERY_OPTION))
    # 2 seeds; feature sets raw, raw_umap, ae_e1, ae_e2, ae_e2_pca8, ae_e2_umap
    assert jobs["embed_umap"] == 4  # raw and ae_e2, per seed
    assert jobs["cluster_kmeans"] == 12 and jobs["cluster_gmm"] == 12
    # + tiny's self-labeling of gmm/ae_e2_umap: 2 more clusterings, 1 more confusion figure
    assert jobs["selflabel"] == 2
    assert jobs["align_clusters"] == 24 + 2 and jobs["plot_confusion"] == 12 + 1
    out = snakemake(tmp_path, "-n", "--printshellcmds", configfile=overlay(tmp_path, EVERY_OPTION)).stdout
    for path in (
        "features/raw_umap_s0.npz",
        "features/ae_e2_umap_s1.npz",
        "clusters/gmm/raw_s0.npz",
        "clusters/gmm/ae_e2_pca8_s1.npz",
        "clusters/kmeans/raw_umap_s1.npz",
        "figures/confusion/gmm_ae_e2_umap.png",
    ):
        assert f"results/mnist/tiny/{path}" in out


@pytest.mark.e2e
def test_default_config_has_no_manifold_steps(tmp_path):
    jobs = dry_run_jobs(tmp_path, configfile=None)
    assert "embed_umap" not in jobs and "cluster_gmm" not in jobs


@pytest.mark.e2e
def test_full_preset_dag(tmp_path):
    jobs = dry_run_jobs(tmp_path, configfile=REPO / "config" / "full.yaml")
    # 3 seeds, one 80-epoch model each; K-Means on raw, raw_umap, ae_e80, ae_e80_umap; GMM on ae_e80_umap
    assert jobs["train_autoencoder"] == 3 and jobs["embed_umap"] == 6
    assert jobs["cluster_kmeans"] == 12 and jobs["cluster_gmm"] == 3
    assert "reduce_pca" not in jobs and jobs["pca_sweep"] == 1
    # every image is a training image here, so nothing is held out to score de-noisers on
    assert not {"train_denoiser", "evaluate_denoiser", "summarize_denoising"} & set(jobs)
    fashion = dry_run_jobs(tmp_path, "--config", "dataset=fashion-mnist", configfile=REPO / "config" / "full.yaml")
    assert fashion == jobs


CONFIG_ERRORS = [
    ("umap: {epochs: [3]}", "umap/epochs: [3] not in autoencoder/epochs [1, 2]"),
    ("umap: {n_neighbors: 100}", "umap/n_neighbors: 100 neighbours for 100 images (allowed: 2..99)"),
    ("umap: {n_components: 99}", "umap/n_components: 99 dimensions for 100 images (allowed: 1..98)"),
    ("umap: {min_dist: -1}", "config error at umap/min_dist: -1 is less than the minimum of 0"),
    ("clustering: {gmm: [pixels]}", "config error at clustering/gmm/0: 'pixels' is not one of"),
    ("gmm: {covariance_type: round}", "config error at gmm/covariance_type: 'round' is not one of"),
    ("gmm: {n_init: 0}", "config error at gmm/n_init: 0 is less than the minimum of 1"),
]


@pytest.mark.parametrize("text,message", CONFIG_ERRORS, ids=[c[0] for c in CONFIG_ERRORS])
def test_bad_manifold_config_fails_at_once(text, message):
    from aeclust.config import ConfigError
    from conftest import load_config

    with pytest.raises(ConfigError) as exc:
        load_config(text)
    assert message in str(exc.value)


# --- end to end on config/tiny.yaml -------------------------------------------------


@pytest.mark.e2e
def test_tiny_runs_umap_and_gmm(tiny_results):
    with np.load(tiny_results / "features" / "ae_e2_umap_s0.npz") as f:
        assert f["features"].shape == (100, 10) and f["features"].dtype == np.float32
        assert np.bincount(f["labels"]).tolist() == [10] * 10
    with np.load(tiny_results / "clusters" / "gmm" / "ae_e2_umap_s1.npz") as c:
        assert c["clusters"].shape == (100,) and "log_likelihood" in c.files
    log = (tiny_results / "logs" / "embed_umap" / "ae_e2_s0.log").read_text()
    assert "-> (100, 10)" in log and "random_state 0" in log
    summary = pd.read_csv(tiny_results / "summary.csv").set_index("method")
    row = summary.loc["gmm/ae_e2_umap"]
    runs = [json.loads(p.read_text()) for p in sorted((tiny_results / "metrics" / "gmm").glob("ae_e2_umap_s*.json"))]
    assert row["seeds"] == len(runs) == 2 and row["description"] == "GMM on AE 2 epochs + UMAP"
    assert row["accuracy_mean"] == pytest.approx(np.mean([r["accuracy"] for r in runs]))
    assert row["nmi_mean"] == pytest.approx(np.mean([r["nmi"] for r in runs]))
    assert (tiny_results / "figures" / "confusion" / "gmm_ae_e2_umap.png").stat().st_size > 10_000
    assert (tiny_results / "benchmarks" / "embed_umap" / "ae_e2_s0.tsv").exists()


UPSTREAM = {
    "make_subsets",
    "train_autoencoder",
    "extract_embeddings",
    "reduce_pca",
    "cluster_kmeans",
    "train_classifier",
}


@pytest.mark.e2e
def test_umap_change_never_retrains(tiny_run, tmp_path):
    jobs = dry_run_jobs(tiny_run, configfile=overlay(tmp_path, "umap: {n_neighbors: 7}"))
    assert jobs["embed_umap"] == 2 and jobs["cluster_gmm"] == 2 and jobs["cluster_kmeans"] == 2
    assert not (UPSTREAM - {"cluster_kmeans"}) & jobs.keys()


@pytest.mark.e2e
def test_gmm_change_reclusters_only(tiny_run, tmp_path):
    jobs = dry_run_jobs(tiny_run, configfile=overlay(tmp_path, "gmm: {n_init: 3}"))
    # the mixture's clusterings, and tiny's self-labeling that starts from them
    assert jobs["cluster_gmm"] == 2 and jobs["selflabel"] == 2 and jobs["align_clusters"] == 2 + 2
    assert not (UPSTREAM | {"embed_umap"}) & jobs.keys()
