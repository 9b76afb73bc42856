"""End to end on config/tiny.yaml: every target is made, from the real MNIST mirror,
and only stale outputs are ever rebuilt."""

import hashlib
import json
import os

import numpy as np
import pandas as pd

from conftest import REPO, dry_run_jobs, overlay, snakemake


def test_every_target_made(tiny_run, tiny_results):
    # nothing left to do, and the targets of rule all exist
    assert dry_run_jobs(tiny_run) == {}
    summary = pd.read_csv(tiny_results / "summary.csv")
    assert set(summary["method"]) == {"kmeans/raw", "kmeans/ae_e1", "kmeans/ae_e2", "kmeans/ae_e2_pca8",
                                      "kmeans/ae_e2_umap", "gmm/ae_e2_umap", "classifier"}
    assert (summary["seeds"] == 2).all()
    assert summary["accuracy_mean"].between(0.1, 1.0).all()
    for name in ("kmeans_raw", "kmeans_ae_e1", "kmeans_ae_e2", "kmeans_ae_e2_pca8", "kmeans_ae_e2_umap", "gmm_ae_e2_umap"):
        png = tiny_results / "figures" / "confusion" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    sweep = pd.read_csv(tiny_results / "pca_sweep.csv")
    assert sorted(sweep["components"].unique()) == [2, 4, 8] and len(sweep) == 6
    assert "| K-Means on pixels (`kmeans/raw`) |" in (tiny_results / "summary.md").read_text()


def test_data_rules_on_real_mirror(tiny_run, tiny_results):
    data = tiny_run / "data" / "mnist"
    sums = dict(line.split()[::-1] for line in (REPO.parent / "shared/data/mnist/SHA256SUMS").read_text().splitlines()
                if line and not line.startswith("#"))
    for name, digest in sums.items():
        assert hashlib.sha256((data / name).read_bytes()).hexdigest() == digest
    assert not list(data.glob(".*"))  # no temporary files left behind
    with np.load(tiny_results / "subsets" / "cluster_s0.npz") as c, np.load(tiny_results / "subsets" / "train_s0.npz") as t:
        assert np.bincount(c["labels"]).tolist() == [10] * 10
        assert np.bincount(t["labels"]).tolist() == [50] * 10
        assert set(c["split"]) == {"test"} and set(t["split"]) == {"train"}
        assert c["images"].shape == (100, 28, 28) and c["images"].dtype == np.uint8


def test_training_logs_and_settings(tiny_results):
    log = (tiny_results / "logs" / "train_autoencoder" / "e2_s0.log").read_text()
    assert "epoch 2/2 loss" in log and "samples/s" in log
    loss = pd.read_csv(tiny_results / "models" / "ae_e2_s0_loss.tsv", sep="\t")
    assert list(loss["epoch"]) == [1, 2] and (loss["samples_per_s"] > 0).all()
    settings = json.loads((tiny_results / "models" / "ae_e2_s0.json").read_text())
    assert settings["arch"] == "conv" and settings["seed"] == 0 and settings["epochs"] == 2
    assert not list((tiny_results / "models").glob("*.resume"))
    bench = pd.read_csv(tiny_results / "benchmarks" / "train_autoencoder" / "e2_s0.tsv", sep="\t")
    assert bench["s"].iloc[0] > 0


def test_pca_change_reruns_only_pca_and_downstream(tiny_run, tmp_path):
    jobs = dry_run_jobs(tiny_run, configfile=overlay(tmp_path, "pca: {components: 4}"))
    assert jobs.keys() <= {"reduce_pca", "cluster_kmeans", "align_clusters", "plot_confusion", "plot_accuracy", "summarize",
                           "clusters_table", "default"}
    assert jobs["reduce_pca"] == 2 and jobs["cluster_kmeans"] == 2


def test_kmeans_change_never_retrains(tiny_run, tmp_path):
    jobs = dry_run_jobs(tiny_run, configfile=overlay(tmp_path, "kmeans: {n_init: 3}"))
    assert "train_autoencoder" not in jobs and "extract_embeddings" not in jobs and "reduce_pca" not in jobs
    assert jobs["cluster_kmeans"] == 10  # raw, ae_e1, ae_e2, ae_e2_pca8, ae_e2_umap x 2 seeds


def test_new_epoch_count_trains_only_new_models(tiny_run, tmp_path):
    jobs = dry_run_jobs(tiny_run, configfile=overlay(tmp_path, "autoencoder: {epochs: [1, 2, 3]}"))
    assert jobs["train_autoencoder"] == 2  # epoch count 3, for each of 2 seeds
    assert "train_classifier" not in jobs and "make_subsets" not in jobs


def test_model_code_edit_marks_models_stale(tiny_run):
    # Snakemake ignores a newer mtime when the content is unchanged, so edit for real
    models = REPO / "workflow" / "scripts" / "aeclust" / "models.py"
    st, text = models.stat(), models.read_text()
    try:
        models.write_text(text + "\n# an edit\n")
        os.utime(models, (st.st_atime, st.st_mtime + 3600))
        jobs = dry_run_jobs(tiny_run)
    finally:
        models.write_text(text)
        os.utime(models, (st.st_atime, st.st_mtime))
    assert jobs["train_autoencoder"] == 4 and jobs["train_classifier"] == 2
    assert "download_dataset" not in jobs and "make_subsets" not in jobs


def test_forcerun_one_rule(tiny_run):
    jobs = dry_run_jobs(tiny_run, "--forcerun", "pca_sweep")
    assert jobs == {"pca_sweep": 1, "summarize": 1, "default": 1}  # the summary checks the sweep's claim
