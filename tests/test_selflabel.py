"""The self-labeling stage (aeclust.selflabel, rule selflabel) and the augmentation it trains with."""

from __future__ import annotations

import dataclasses
import math
import os
import runpy
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from aeclust.augment import Augment, AugmentConfig, augment, sample_affine
from aeclust.selflabel import (
    SelectionError,
    SelfLabelConfig,
    SelfLabelNet,
    cluster_posteriors,
    confidence_scores,
    keep,
    knn_agreement,
    self_label,
)
from conftest import REPO, dry_run_jobs

OFF = AugmentConfig(rotation=0, shift=0, scale=0)


@pytest.fixture(autouse=True)
def one_thread():
    """Small networks: one thread is as fast, and does not fight other jobs for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def square(side: int = 6, at: tuple[int, int] = (11, 11), n: int = 1) -> torch.Tensor:
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, at[0] : at[0] + side, at[1] : at[1] + side] = 1.0
    return x


def centre_of_mass(x: torch.Tensor) -> torch.Tensor:
    """[B, 2] (x, y) pixel coordinates of each image's mass."""
    w = x[:, 0]
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    m = w.sum((1, 2))
    return torch.stack([(w * xs).sum((1, 2)) / m, (w * ys).sum((1, 2)) / m], dim=1)


# ---------------------------------------------------------------- augmentation


def test_augment_keeps_shape_and_dtype_and_is_identity_when_off():
    x = torch.rand(16, 1, 28, 28)
    y = augment(x, AugmentConfig(), gen(0))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert (y - x).abs().max() > 0.1  # something moved
    assert torch.allclose(augment(x, OFF, gen(0)), x, atol=1e-6)


def test_affine_parameters_span_their_ranges():
    cfg = AugmentConfig(rotation=10, shift=0.1, scale=0.1)
    p = sample_affine(5000, cfg, gen(0))
    bounds = {"angle": math.radians(10), "shift": 0.1}
    for key, bound in bounds.items():
        assert p[key].abs().max() <= bound
        assert p[key].abs().max() > 0.98 * bound and p[key].min() < 0 < p[key].max()
    assert 0.9 <= p["scale"].min() < 0.902 and 1.098 < p["scale"].max() <= 1.1


def test_shift_moves_the_mass_by_the_drawn_fraction_of_the_side():
    cfg = AugmentConfig(rotation=0, shift=0.1, scale=0)
    x = square(n=64)
    y = augment(x, cfg, gen(3))
    shift = sample_affine(64, cfg, gen(3))["shift"]  # the same draws augment made
    moved = centre_of_mass(y) - centre_of_mass(x)
    assert torch.allclose(moved, shift * 28, atol=0.05), (moved - shift * 28).abs().max()
    assert moved.abs().max() > 2.0  # up to 2.8 pixels


def test_rotation_turns_a_bar_by_the_drawn_angle():
    cfg = AugmentConfig(rotation=10, shift=0, scale=0)
    x = torch.zeros(32, 1, 28, 28)
    x[:, :, 13:15, 4:24] = 1.0  # a horizontal bar through the centre
    y = augment(x, cfg, gen(5))
    angle = sample_affine(32, cfg, gen(5))["angle"]
    # orientation of the mass from its second moments
    w = y[:, 0]
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    c = centre_of_mass(y)
    dx, dy = xs - c[:, 0, None, None], ys - c[:, 1, None, None]
    mxx, myy, mxy = (w * dx * dx).sum((1, 2)), (w * dy * dy).sum((1, 2)), (w * dx * dy).sum((1, 2))
    measured = 0.5 * torch.atan2(2 * mxy, mxx - myy)
    assert torch.allclose(measured.abs(), angle.abs(), atol=math.radians(1.0))
    assert torch.allclose(measured, angle, atol=math.radians(1.0)) or torch.allclose(
        measured, -angle, atol=math.radians(1.0)
    )
    assert angle.abs().max() > math.radians(8)


def test_scale_zooms_the_area_by_the_drawn_factor_squared():
    cfg = AugmentConfig(rotation=0, shift=0, scale=0.1)
    x = square(side=10, at=(9, 9), n=32)
    y = augment(x, cfg, gen(7))
    s = sample_affine(32, cfg, gen(7))["scale"]
    ratio = y.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert torch.allclose(ratio, s**2, rtol=0.03), ratio / s**2
    assert (s > 1.05).any() and (s < 0.95).any()


def test_crop_is_an_integer_shift_within_the_padding():
    x = torch.rand(24, 1, 28, 28)
    y = augment(x, dataclasses.replace(OFF, crop=3), gen(1))
    shifts = set()
    for i in range(len(x)):  # a test may loop; the library may not
        found = [
            (dy, dx)
            for dy in range(-3, 4)
            for dx in range(-3, 4)
            if torch.equal(y[i], torch.nn.functional.pad(x[i], (3, 3, 3, 3))[:, 3 + dy : 31 + dy, 3 + dx : 31 + dx])
        ]
        assert len(found) == 1, i
        shifts.add(found[0])
    assert len(shifts) > 5


def test_hflip_mirrors_about_half_the_images():
    x = torch.rand(64, 1, 28, 28)
    y = augment(x, dataclasses.replace(OFF, hflip=True), gen(2))
    flipped = [bool(torch.equal(y[i], x[i].flip(-1))) for i in range(64)]
    same = [bool(torch.equal(y[i], x[i])) for i in range(64)]
    assert all(f != s for f, s in zip(flipped, same))
    assert 16 < sum(flipped) < 48


def test_augment_is_seeded():
    x = torch.rand(32, 1, 28, 28)
    cfg = AugmentConfig(crop=2, hflip=True)
    a, b, c = augment(x, cfg, gen(11)), augment(x, cfg, gen(11)), augment(x, cfg, gen(12))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c, atol=1e-3)
    assert torch.equal(Augment({"crop": 2, "hflip": True})(x, gen(11)), a)  # the training-loop callable


@pytest.mark.parametrize(
    "settings,word",
    [({"rotation": -1}, "rotation"), ({"shift": 1.5}, "shift"), ({"crop": 1.5}, "crop"), ({"flip": True}, "unknown")],
)
def test_bad_augment_settings_name_the_key(settings, word):
    with pytest.raises(ValueError, match=word):
        AugmentConfig.from_dict(settings)


# ---------------------------------------------------------------- selection


def test_knn_agreement_by_hand():
    x = np.array([0.0, 1.0, 2.1, 10.0, 11.0, 12.2, 13.5])[:, None]
    ids = np.array([0, 0, 0, 1, 1, 0, 1])
    # neighbours (k=2, itself excluded): 0:{1,2} 1:{0,2} 2:{1,0} 3:{4,5} 4:{3,5} 5:{4,6} 6:{5,4}
    agree = knn_agreement(x, ids, k=2)
    assert agree.tolist() == [1.0, 1.0, 1.0, 0.5, 0.5, 0.0, 0.5]
    assert np.flatnonzero(keep(agree, "knn", 1.0, k=2)).tolist() == [0, 1, 2]
    assert np.flatnonzero(keep(agree, "knn", 0.5, k=2)).tolist() == [0, 1, 2, 3, 4, 6]
    assert np.flatnonzero(keep(agree, "knn", 0.0, k=2)).tolist() == list(range(7))


def test_knn_agreement_excludes_the_image_itself_among_duplicates():
    x = np.array([0.0, 0.0, 0.0, 5.0, 5.5])[:, None]
    ids = np.array([0, 0, 1, 1, 1])
    agree = knn_agreement(x, ids, k=2)  # the three copies are each other's neighbours
    assert agree[:3].tolist() == [0.5, 0.5, 0.0]


def test_knn_threshold_counts_whole_neighbours():
    scores = np.array([3, 2, 1, 0]) / 3  # 2/3 is 0.666..., not 0.67
    assert keep(scores, "knn", 2 / 3, k=3).tolist() == [True, True, False, False]
    assert keep(scores, "knn", 0.6, k=3).tolist() == [True, True, False, False]
    assert keep(scores, "knn", 0.7, k=3).tolist() == [True, False, False, False]


def test_posterior_and_margin_by_hand():
    probs = np.array([[0.9, 0.1, 0.0], [0.5, 0.4, 0.1], [0.2, 0.7, 0.1], [0.34, 0.33, 0.33]])
    ids = np.array([0, 0, 0, 2])  # the last two carry a cluster the posteriors do not favour
    post = confidence_scores("posterior", ids, probs=probs)
    assert np.allclose(post, [0.9, 0.5, 0.2, 0.33])
    assert keep(post, "posterior", 0.5).tolist() == [True, True, False, False]
    margin = confidence_scores("margin", ids, probs=probs)
    assert np.allclose(margin, [0.8, 0.1, -0.5, -0.01])
    assert keep(margin, "margin", 0.05).tolist() == [True, True, False, False]
    assert keep(margin, "margin", 0.5).tolist() == [True, False, False, False]


def test_cluster_posteriors_are_those_of_gaussians_fitted_to_each_cluster():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (30, 2)), rng.normal(2, 0.5, (20, 2))])
    ids = np.repeat([0, 1], [30, 20])
    dens = np.stack(
        [
            w
            * multivariate_normal(
                x[ids == c].mean(0), np.cov(x[ids == c], rowvar=False, bias=True) + 1e-6 * np.eye(2)
            ).pdf(x)
            for c, w in ((0, 0.6), (1, 0.4))
        ],
        axis=1,
    )
    assert np.allclose(cluster_posteriors(x, ids, 2), dens / dens.sum(1, keepdims=True), atol=1e-9)


# ---------------------------------------------------------------- the classifier and the stage


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_net_sizes_itself_from_the_image_shape(shape):
    net = SelfLabelNet(shape, n_classes=7, hidden=16).eval()
    x = torch.rand(5, *shape)
    assert net(x).shape == (5, 7) and net.embed(x).shape == (5, 16)


def shapes(n_per_class: int = 100, seed: int = 0):
    """Four classes of grey-noise images (square, horizontal bar, vertical bar, ring) at random
    places, and a 5-D feature space where the classes are Gaussian clusters (as codes would be)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), n_per_class)
    images = np.zeros((len(y), 28, 28), np.uint8)
    for i, c in enumerate(y):
        r, q = rng.integers(6, 16, 2)
        if c == 0:
            images[i, r : r + 7, q : q + 7] = 255
        elif c == 1:
            images[i, r + 2 : r + 5, q - 4 : q + 10] = 255
        elif c == 2:
            images[i, r - 4 : r + 10, q + 2 : q + 5] = 255
        else:
            images[i, r : r + 8, q : q + 8] = 255
            images[i, r + 2 : r + 6, q + 2 : q + 6] = 0
    images = np.clip(images.astype(int) + rng.integers(0, 60, images.shape), 0, 255).astype(np.uint8)
    space = (rng.normal(size=(len(y), 5)) + 6 * np.eye(4, 5)[y]).astype(np.float32)
    return images, y, space


def corrupt_labels(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(y)) < fraction
    out = y.copy()
    out[wrong] = (y[wrong] + rng.integers(1, 4, wrong.sum())) % 4
    return out


SMALL = SelfLabelConfig(k=10, threshold=0.6, epochs=6, batch_size=32, precision="fp32")


def test_stage_ends_above_its_pseudo_labels():
    images, y, space = shapes()
    pseudo = corrupt_labels(y, 0.2, seed=1)
    assert 0.77 < np.mean(pseudo == y) < 0.83  # 20 % wrong
    out = self_label(images, pseudo, space, SMALL, seed=0)
    kept = out["selected"][0]
    assert 0.5 < kept.mean() < 0.9 and np.mean(pseudo[kept] == y[kept]) > 0.98  # the criterion drops the wrong ones
    accuracy = np.mean(out["clusters"] == y)  # cluster ids are the pseudo-labels' ids: no matching needed
    assert accuracy > np.mean(pseudo == y) + 0.1 and accuracy > 0.95, accuracy
    assert out["confidence"].shape == (len(y),) and 0.25 <= out["confidence"].min() and out["confidence"].max() <= 1
    assert out["confidence"].mean() > 0.8
    assert out["round_clusters"].shape == (2, len(y)) and np.array_equal(out["round_clusters"][0], pseudo)


def test_rounds_reselect_from_the_classifier_and_are_deterministic():
    images, y, space = shapes(40)
    pseudo = corrupt_labels(y, 0.2, seed=2)
    cfg = dataclasses.replace(SMALL, rounds=2, epochs=3, k=5)
    a, b = self_label(images, pseudo, space, cfg, seed=3), self_label(images, pseudo, space, cfg, seed=3)
    assert a["selected"].shape == (2, len(y)) and a["round_clusters"].shape == (3, len(y))
    assert not np.array_equal(a["selected"][0], a["selected"][1])  # round 2 judged the CNN's own predictions
    assert np.array_equal(a["round_clusters"][2], a["clusters"])
    for key in ("clusters", "confidence", "selected"):
        assert np.array_equal(a[key], b[key]), key
    c = self_label(images, pseudo, space, cfg, seed=4)
    assert not np.array_equal(a["confidence"], c["confidence"])  # the seed reaches initialisation and shuffling


def test_posterior_criterion_runs_the_stage():
    images, y, space = shapes(40)
    pseudo = corrupt_labels(y, 0.2, seed=5)
    cfg = dataclasses.replace(SMALL, criterion="posterior", threshold=0.99, epochs=3)
    out = self_label(images, pseudo, space, cfg, seed=0)
    probs = cluster_posteriors(space, pseudo, 4)
    assert np.array_equal(out["selected"][0], probs[np.arange(len(y)), pseudo] >= 0.99)


def test_selecting_nothing_is_a_clear_error():
    images, y, space = shapes(10)
    pseudo = np.random.default_rng(0).permutation(np.arange(40) % 4)  # no structure: no neighbours agree
    with pytest.raises(SelectionError, match="selflabel.threshold"):
        self_label(images, pseudo, space, dataclasses.replace(SMALL, k=20, threshold=1.0), seed=0)
    with pytest.raises(SelectionError, match="selflabel.k"):
        self_label(images, y, space, dataclasses.replace(SMALL, k=40), seed=0)


# ---------------------------------------------------------------- the rule's script never reads labels


def run_script(tmp_path, labels: np.ndarray, monkeypatch, name: str) -> dict[str, np.ndarray]:
    """Run workflow/scripts/selflabel.py as Snakemake would, on files whose label arrays are ``labels``."""
    images, _, space = shapes(30)
    pseudo = corrupt_labels(np.repeat(np.arange(4), 30), 0.2, seed=0)
    d = tmp_path / name
    d.mkdir()
    np.savez(d / "subset.npz", images=images, labels=labels, split=np.array(["test"] * len(labels)))
    np.savez(d / "features.npz", features=space, labels=labels)
    np.savez(d / "clusters.npz", clusters=pseudo, labels=labels)
    settings = {
        "criterion": "knn",
        "k": 5,
        "threshold": 0.6,
        "rounds": 2,
        "epochs": 2,
        "batch_size": 32,
        "lr": 0.002,
        "schedule": "onecycle",
        "channels": [8, 16],
        "hidden": 32,
        "precision": "fp32",
        "bn_recalibrate": True,
        "space": "ae",
        "augment": {"rotation": 10, "shift": 0.1, "scale": 0.1, "crop": 0, "hflip": False},
    }
    smk = SimpleNamespace(
        input=SimpleNamespace(
            clusters=str(d / "clusters.npz"), images=str(d / "subset.npz"), space=str(d / "features.npz")
        ),
        output=SimpleNamespace(clusters=str(d / "out.npz")),
        params=SimpleNamespace(settings=settings, device="cpu"),
        wildcards=SimpleNamespace(algo="gmm", feat="ae_e2_umap", seed="0"),
        threads=1,
        log=[],
        rule="selflabel",
    )
    for var in ("OMP_NUM_THREADS", "GOMP_SPINCOUNT"):  # script_setup sets them; put them back afterwards
        if var in os.environ:
            monkeypatch.setenv(var, os.environ[var])
        else:
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    threads = torch.get_num_threads()
    try:
        runpy.run_path(str(REPO / "workflow" / "scripts" / "selflabel.py"), init_globals={"snakemake": smk})
    finally:
        torch.set_num_threads(threads)
    with np.load(d / "out.npz") as f:
        return {k: f[k] for k in f.files}


def test_label_permutation_leaves_assignments_unchanged(tmp_path, monkeypatch):
    labels = np.repeat(np.arange(4), 30)
    permuted = np.random.default_rng(0).permutation(labels)
    a = run_script(tmp_path, labels, monkeypatch, "a")
    b = run_script(tmp_path, permuted, monkeypatch, "b")
    for key in ("clusters", "confidence", "selected", "round_clusters", "selected_count"):
        assert np.array_equal(a[key], b[key]), key
    assert np.array_equal(a["labels"], labels) and np.array_equal(b["labels"], permuted)  # carried, for scoring only
    assert a["selected"].shape == (2, 120) and a["clusters"].dtype == np.int64


# ---------------------------------------------------------------- the workflow


@pytest.mark.e2e
def test_tiny_dag_has_the_stage(tmp_path):
    jobs = dry_run_jobs(tmp_path)
    assert jobs["selflabel"] == 2  # gmm/ae_e2_umap x 2 seeds
    assert jobs["align_clusters"] == 14 and jobs["plot_confusion"] == 7


def test_selflabel_source_must_be_a_clustering():
    from aeclust.config import ConfigError
    from conftest import load_config

    with pytest.raises(ConfigError, match="config error at selflabel/from: gmm/ae_e7_umap is not a clustering of"):
        load_config("selflabel: {from: [gmm/ae_e7_umap]}")


def test_fashion_gets_its_flips():
    """datasets.fashion-mnist.augment (hflip) is merged over selflabel.augment; MNIST keeps none."""
    import yaml
    from aeclust.params import selflabel_settings

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    mnist = selflabel_settings(cfg)
    fashion = selflabel_settings({**cfg, "dataset": "fashion-mnist"})
    assert mnist["augment"]["hflip"] is False and fashion["augment"]["hflip"] is True
    assert {k: v for k, v in fashion["augment"].items() if k != "hflip"} == {
        k: v for k, v in mnist["augment"].items() if k != "hflip"
    }
    assert "enabled" not in mnist and "from" not in mnist and mnist["k"] == cfg["selflabel"]["k"]


@pytest.mark.e2e
def test_tiny_run_reports_the_selflabel_method(tiny_results):
    summary = pd.read_csv(tiny_results / "summary.csv")
    row = summary[summary["method"] == "selflabel/gmm_ae_e2_umap"]
    assert len(row) == 1 and row["seeds"].iloc[0] == 2
    assert row["description"].iloc[0] == "Self-labeled CNN from GMM on AE 2 epochs + UMAP"
    with (
        np.load(tiny_results / "clusters" / "selflabel" / "gmm_ae_e2_umap_s0.npz") as f,
        np.load(tiny_results / "clusters" / "gmm" / "ae_e2_umap_s0.npz") as src,
    ):
        assert f["clusters"].shape == (100,) and np.array_equal(f["labels"], src["labels"])
        assert f["selected"].shape == (2, 100) and np.array_equal(f["round_clusters"][0], src["clusters"])
        assert ((f["confidence"] > 0) & (f["confidence"] <= 1)).all()
    png = tiny_results / "figures" / "confusion" / "selflabel_gmm_ae_e2_umap.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    log = (tiny_results / "logs" / "selflabel" / "gmm_ae_e2_umap_s0.log").read_text()
    assert "round 2: knn (k=5, threshold 0.6) keeps" in log and "epoch 2/2" in log
    bench = pd.read_csv(tiny_results / "benchmarks" / "selflabel" / "gmm_ae_e2_umap_s0.tsv", sep="\t")
    assert bench["s"].iloc[0] > 0
