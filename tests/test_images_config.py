"""A user's own images in the config: parse-time checks name the setting, before any job runs."""

from __future__ import annotations

import shutil

import pytest

from conftest import dry_run_jobs, overlay, snakemake
from imagegen import make_folder

IMAGES = """
dataset: shapes
datasets:
  shapes: {{source: folder, path: {path}, skip_unreadable: true{extra}}}
subsets:
  cluster: {{split: all, per_class: null}}
  train: {{split: all, per_class: null, exclude_cluster: false}}
denoise: {{enabled: false}}
{more}
"""


def images_config(tmp_path, path, extra="", more=""):
    return overlay(tmp_path, IMAGES.format(path=path, extra=extra, more=more))


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("img") / "shapes"
    make_folder(root, per_class=4)
    return root


CASES = [
    ("nowhere", "", "", "datasets/shapes/path: 'nowhere' is not a folder"),
    ("{root}", ", labels: none", "", "kmeans/k: required for shapes, which has no labels"),
    ("{root}", ", labels: csv", "", "datasets/shapes/labels_csv: required with labels: csv"),
    ("{root}", ", labels: array", "", "datasets/shapes/labels: 'array' does not apply to source folder"),
    ("{root}", "", "subsets: {cluster: {split: test}}", "subsets/cluster/split: test, but datasets/shapes/holdout is 0"),
    ("{root}", ", labels: none", "kmeans: {k: 3}\ndenoise: {enabled: true}",
     "denoise/enabled: the de-noisers' legibility score needs labels"),
]


@pytest.mark.parametrize("path,extra,more,message", CASES, ids=[c[3][:40] for c in CASES])
def test_bad_image_settings_fail_at_once(tmp_path, shapes, path, extra, more, message):
    proc = snakemake(tmp_path, "-n", configfile=images_config(tmp_path, path.format(root=shapes), extra, more), check=False)
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


def test_single_class_folder_fails_at_once(tmp_path):
    root = tmp_path / "one"
    make_folder(root, per_class=2, corrupt=False)
    for cls in ("green", "blue"):
        shutil.rmtree(root / cls)
    proc = snakemake(tmp_path, "-n", configfile=images_config(tmp_path, root), check=False)
    assert proc.returncode != 0 and "has a single class sub-folder" in proc.stderr + proc.stdout


def test_labels_and_k_come_from_the_folder(tmp_path, shapes):
    """Class sub-folders: labelled, k = 3 classes; a flat folder: no labels, no label metrics."""
    jobs = dry_run_jobs(tmp_path, configfile=images_config(tmp_path, shapes))
    assert jobs["import_images"] == 1 and "download_dataset" not in jobs
    assert jobs["align_clusters"] > 0 and jobs["train_classifier"] == 2


def test_resolve_dataset_fills_labels_and_k(tmp_path, shapes):
    import numpy as np

    from aeclust import config

    def resolved(ds, k=None):
        cfg = {"dataset": "x", "datasets": {"x": ds}, "kmeans": {"k": k}}
        config.resolve_dataset(cfg)
        return cfg["datasets"]["x"].get("labels"), cfg["kmeans"]["k"]

    assert resolved({"source": "folder", "path": str(shapes), "labels": "auto"}) == ("folders", 3)
    assert resolved({"source": "folder", "path": str(shapes), "labels": "none"}, k=5) == ("none", 5)
    assert resolved({"source": "idx", "labels": "auto"}) == ("auto", 10)  # MNIST: 10 digits
    csv = tmp_path / "l.csv"
    csv.write_text("file,label\na.png,x\nb.png,y\nc.png,y\n")
    assert resolved({"source": "folder", "path": str(shapes), "labels": "auto", "labels_csv": str(csv)}) == ("csv", 2)
    np.savez(tmp_path / "a.npz", images=np.zeros((6, 4, 4)), labels=np.array([0, 1, 2, 3, 0, 1]))
    assert resolved({"source": "array", "path": str(tmp_path / "a.npz"), "labels": "auto"}) == ("array", 4)
    np.savez(tmp_path / "b.npz", images=np.zeros((6, 4, 4)))
    assert resolved({"source": "array", "path": str(tmp_path / "b.npz"), "labels": "auto"}, k=2) == ("none", 2)


def test_without_labels_the_dag_leaves_out_what_needs_them(tmp_path):
    flat = tmp_path / "flat"
    make_folder(flat, per_class=2, sub_folders=False)
    jobs = dry_run_jobs(tmp_path, configfile=images_config(tmp_path, flat, more="kmeans: {k: 3}"))
    assert not {"align_clusters", "train_classifier", "summarize", "pca_sweep", "plot_confusion", "plot_accuracy"} & jobs.keys()
    # a grid per method: tiny's 6 clusterings and its self-labeling of gmm/ae_e2_umap
    assert jobs["clusters_table"] == 1 and jobs["internal_criteria"] == 1 and jobs["plot_cluster_grid"] == 6 + 1
    assert jobs["import_images"] == 1 and jobs["cluster_kmeans"] == 10


def test_mnist_dag_gains_only_clusters_csv(tmp_path):
    jobs = dry_run_jobs(tmp_path)
    assert jobs["clusters_table"] == 1
    assert not {"import_images", "internal_criteria", "plot_cluster_grid"} & jobs.keys()
