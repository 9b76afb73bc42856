"""End to end on a user's own images: the tiny DAG on generated folders of PNGs (labelled
by class sub-folders, with a corrupt file skipped; and without labels), and MNIST exported
as an .npz through the array path against the IDX path. Heavy: run under the shared lock."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import dry_run_jobs, overlay, snakemake
from imagegen import make_folder

pytestmark = pytest.mark.e2e  # every test here runs the workflow

IMAGES = """
experiment: tiny
dataset: shapes
datasets:
  shapes: {{source: folder, path: shapes, skip_unreadable: true{extra}}}
subsets:
  cluster: {{split: all, per_class: null}}
  train: {{split: all, per_class: null, exclude_cluster: false}}
autoencoder: {{batch_size: 8}}   # 120 images: more steps per epoch than the tiny preset's 32
denoise: {{enabled: false}}
{more}
"""


def run_folder(workdir, sub_folders: bool, extra: str = "", more: str = ""):
    truth = make_folder(workdir / "shapes", per_class=40, sub_folders=sub_folders)
    snakemake(workdir, "--cores", "2", configfile=overlay(workdir, IMAGES.format(extra=extra, more=more)))
    return truth, workdir / "results" / "shapes" / "tiny"


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    return run_folder(tmp_path_factory.mktemp("labelled"), sub_folders=True)


@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory):
    return run_folder(
        tmp_path_factory.mktemp("unlabelled"), sub_folders=False, extra=", labels: none", more="kmeans: {k: 3}"
    )


def check_clusters_csv(results, truth, labels: bool):
    table = pd.read_csv(results / "clusters.csv")
    assert sorted(table["source"]) == sorted(truth)  # every readable image once, the corrupt one not
    assert table["source"].is_unique
    assert ("label" in table) == labels
    ids = [c for c in table if c.endswith(("/s0", "/s1"))]
    # tiny's 6 clusterings and its self-labeling of gmm/ae_e2_umap, 2 seeds each
    assert (
        "kmeans/raw/s0" in ids
        and "gmm/ae_e2_umap/s1" in ids
        and "selflabel/gmm_ae_e2_umap/s0" in ids
        and len(ids) == 14
    )
    assert all(table[c].between(0, 2).all() for c in ids)
    # a 2-epoch CNN on 120 images may put them all in one class; the clusterings do not
    assert all(table[c].nunique() > 1 for c in ids if not c.startswith("selflabel/"))
    conf = table["gmm/ae_e2_umap/s0/confidence"]
    assert conf.between(1 / 3 - 1e-6, 1).all() and "kmeans/raw/s0/confidence" not in table
    return table


def test_labelled_folder_end_to_end(labelled):
    truth, results = labelled
    table = check_clusters_csv(results, truth, labels=True)
    assert (table["label"] == table["source"].map(truth)).all()
    summary = pd.read_csv(results / "summary.csv").set_index("method")
    assert summary.loc["kmeans/raw", "accuracy_mean"] > 0.9  # chance: 1/3 (three classes of 40)
    metrics = json.loads((results / "metrics" / "kmeans" / "raw_s0.json").read_text())
    assert metrics["n"] == 120 and len(metrics["per_class_recall"]) == 3
    settings = json.loads((results / "models" / "ae_e2_s0.json").read_text())
    assert settings["image_shape"] == [3, 16, 16] and settings["n_train"] == 120
    log = (results / "logs" / "import_images.log").read_text()
    assert "skipped unreadable file red/zz_broken.png" in log and "1 unreadable files skipped" in log
    md = (results / "internal.md").read_text()
    assert "1 unreadable files were skipped" in md and "accuracy, NMI and ARI are in summary.md" in md
    for png in ("figures/clusters/kmeans_raw.png", "figures/confusion/kmeans_raw.png", "figures/samples.png"):
        assert (results / png).read_bytes()[:4] == b"\x89PNG"


def test_unlabelled_folder_end_to_end(unlabelled):
    truth, results = unlabelled
    check_clusters_csv(results, truth, labels=False)
    assert not (results / "summary.csv").exists() and not (results / "metrics").exists()
    assert not (results / "figures" / "confusion").exists() and not (results / "models" / "classifier_s0.pt").exists()
    md = (results / "internal.md").read_text()
    assert "No labels: no accuracy, NMI, ARI or study claims" in md and "| K-Means on pixels (`kmeans/raw`) |" in md
    internal = pd.read_csv(results / "internal.csv").set_index("method")
    assert internal.loc["kmeans/raw", "silhouette_mean"] > 0.2 and internal.loc["kmeans/raw", "seeds"] == 2
    grid_log = (results / "logs" / "plot_cluster_grid" / "kmeans_raw.log").read_text()
    assert grid_log.count("cluster ") == 3 and ".png" in grid_log
    assert (results / "figures" / "clusters" / "gmm_ae_e2_umap.png").read_bytes()[:4] == b"\x89PNG"


def test_mnist_as_an_array_matches_the_idx_path(tmp_path):
    """Same draws, same images, same K-Means metrics: the array path is the IDX path's equal."""
    from aeclust.idx import read_images_labels

    targets = [
        f"results/{{ds}}/tiny/{t}"
        for t in ("subsets/cluster_s1.npz", "subsets/train_s1.npz", "metrics/kmeans/raw_s1.json")
    ]
    idx_dir, npz_dir = tmp_path / "idx", tmp_path / "npz"
    snakemake(idx_dir, "--cores", "2", *[t.format(ds="mnist") for t in targets])
    data = idx_dir / "data" / "mnist"
    tr = read_images_labels(data / "train-images-idx3-ubyte", data / "train-labels-idx1-ubyte")
    te = read_images_labels(data / "t10k-images-idx3-ubyte", data / "t10k-labels-idx1-ubyte")
    npz_dir.mkdir()
    np.savez(
        npz_dir / "mnist.npz",
        images=np.concatenate([tr[0], te[0]]),
        labels=np.concatenate([tr[1], te[1]]),
        split=np.array(["train"] * len(tr[1]) + ["test"] * len(te[1])),
    )
    text = "dataset: mnist_npz\ndatasets:\n  mnist_npz: {source: array, path: mnist.npz}\n"
    snakemake(npz_dir, "--cores", "2", *[t.format(ds="mnist_npz") for t in targets], configfile=overlay(tmp_path, text))
    for name in ("cluster_s1", "train_s1"):
        with (
            np.load(idx_dir / f"results/mnist/tiny/subsets/{name}.npz") as a,
            np.load(npz_dir / f"results/mnist_npz/tiny/subsets/{name}.npz") as b,
        ):
            for key in ("images", "labels", "split", "index"):
                assert np.array_equal(a[key], b[key]), (name, key)
            assert (
                b["source"][0]
                == f"mnist.npz[{len(tr[1]) + int(b['index'][0]) if b['split'][0] == 'test' else int(b['index'][0])}]"
            )
    a = json.loads((idx_dir / "results/mnist/tiny/metrics/kmeans/raw_s1.json").read_text())
    b = json.loads((npz_dir / "results/mnist_npz/tiny/metrics/kmeans/raw_s1.json").read_text())
    assert a == b and a["n"] == 100


def test_mnist_run_writes_clusters_csv(tiny_results):
    """clusters.csv also for MNIST: each replicate draws its own 100 images, so a row per image
    drawn by any seed, empty where a seed did not draw it; the labels are the digits."""
    table = pd.read_csv(tiny_results / "clusters.csv")
    assert table["source"].is_unique and table["source"].str.match(r"t10k-images-idx3-ubyte\[\d+\]$").all()
    for seed in (0, 1):
        with np.load(tiny_results / "subsets" / f"cluster_s{seed}.npz") as s:
            drawn = table.set_index("source").loc[s["source"]]
            assert drawn[f"kmeans/raw/s{seed}"].notna().all() and (drawn["label"].to_numpy() == s["labels"]).all()
        assert table[f"kmeans/raw/s{seed}"].notna().sum() == 100
    assert 100 < len(table) <= 200


DENOISE_UNLABELLED = """
experiment: tiny
dataset: shapes
datasets:
  shapes: {source: folder, path: shapes, labels: none, skip_unreadable: true, holdout: 0.25}
subsets:   # the own-images defaults with a held-out part (tiny.yaml's are MNIST's)
  cluster: {split: test, per_class: null}
  train: {split: train, per_class: null, exclude_cluster: true}
kmeans: {k: 3}
denoise: {enabled: true, epochs: 3, batch_size: 8}   # 54 training images: more steps than tiny's 1 epoch of 16
"""


def test_unlabelled_folder_is_denoised_without_legibility(tmp_path):
    """De-noising a folder without labels: held out a quarter (clustered), trained on the
    rest; PSNR and SSIM of the noisy, median-filtered and de-noised held-out images, no
    legibility scores, no classifier anywhere in the DAG."""
    make_folder(tmp_path / "shapes", per_class=24, sub_folders=False)  # 72 readable images, one corrupt
    files = overlay(tmp_path, DENOISE_UNLABELLED)
    jobs = dry_run_jobs(tmp_path, configfile=files)
    assert "train_classifier" not in jobs and jobs["train_denoiser"] == jobs["evaluate_denoiser"] == 2
    dn = "results/shapes/tiny/denoise"
    targets = [f"{dn}/denoising.csv", f"{dn}/denoising.md", f"{dn}/figures/examples.png", f"{dn}/figures/curves.png"]
    snakemake(tmp_path, "--cores", "2", *targets, configfile=files)
    table = pd.read_csv(tmp_path / dn / "denoising.csv")
    assert table["rate"].tolist() == [0.2, 0.5] and (table["n"] == 18).all() and (table["seeds"] == 2).all()
    for v in ("noisy", "median", "denoised"):
        assert {f"psnr_{v}_mean", f"ssim_{v}_mean", f"psnr_{v}_sd"} <= set(table.columns)
    assert not [c for c in table.columns if c.startswith("accuracy_")]
    assert (table["psnr_denoised_mean"] > table["psnr_noisy_mean"]).all()
    md = (tmp_path / dn / "denoising.md").read_text()
    assert "No legibility scores" in md and "acc." not in md and md.startswith("# De-noising: PSNR and SSIM against")
    metrics = json.loads((tmp_path / dn / "metrics" / "p0.2_s0.json").read_text())
    assert "ssim_denoised" in metrics and not [k for k in metrics if k.startswith("accuracy_")]
    for png in targets[2:]:
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"
    assert not list((tmp_path / "results").rglob("classifier*"))
