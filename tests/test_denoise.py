"""De-noising: the noise model, the scores, a tiny training run, and the DAG end to end."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from aeclust.denoise import (
    check_held_out,
    eval_subset,
    evaluate,
    example_indices,
    median3,
    psnr,
    ssim,
    train_denoiser,
)
from aeclust.denoise_report import denoise_markdown, denoise_table
from aeclust.models import build_model
from aeclust.noise import add_noise, corrupter, noisy_images
from aeclust.train import TrainingError, epoch_generator, predict, to_float
from conftest import dry_run_jobs, overlay
from torch import nn

DENOISER = {"kind": "autoencoder", "arch": "denoiser"}


def digits(n, seed=0):
    """uint8 [n, 28, 28]: a bright bar and a blob at random places, so there is shape to restore."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 28, 28, dtype=torch.uint8)
    for i in range(n):
        r, c = torch.randint(4, 18, (2,), generator=g).tolist()
        x[i, r : r + 8, c : c + 3] = 255
        x[i, r + 2 : r + 6, c + 3 : c + 7] = 180
    return x


@pytest.mark.parametrize("p", [0.2, 0.5, 0.7])
def test_changed_fraction_matches_rate(p):
    clean = to_float(digits(200))
    noisy = add_noise(clean, p, torch.Generator().manual_seed(1))
    changed = (noisy != clean).float().mean().item()
    sd = np.sqrt(p * (1 - p) / clean.numel())
    assert abs(changed - p) < 5 * sd
    assert noisy.min() >= 0 and noisy.max() <= 1 and noisy.shape == clean.shape


def test_same_seed_same_noise():
    x = digits(20)
    assert torch.equal(noisy_images(x, 0.4, seed=3), noisy_images(x, 0.4, seed=3))
    assert not torch.equal(noisy_images(x, 0.4, seed=3), noisy_images(x, 0.4, seed=4))
    # the training hook draws from the generator it is given, as fit() passes it
    clean = to_float(x)
    hook = corrupter(0.4)
    assert torch.equal(hook(clean, epoch_generator(0, 1)), hook(clean, epoch_generator(0, 1)))
    assert not torch.equal(hook(clean, epoch_generator(0, 1)), hook(clean, epoch_generator(0, 2)))
    with pytest.raises(ValueError, match="noise rate"):
        corrupter(1.5)


def test_psnr_ssim_median_against_hand_values():
    clean = np.zeros((1, 8, 8), dtype=np.float32)
    one_hot = clean.copy()
    one_hot[0, 3, 4] = 1.0
    # MSE = 1/64 -> PSNR = 10 log10(1 / (1/64)) = 10 log10(64)
    assert psnr(clean, one_hot)[0] == pytest.approx(10 * np.log10(64))
    half = np.full((1, 8, 8), 0.5, dtype=np.float32)
    assert psnr(clean, half)[0] == pytest.approx(10 * np.log10(4))
    # constant images: no variance, SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 1)^2
    a, b, c1 = 0.5, 0.25, 1e-4
    quarter = np.full((1, 8, 8), b, dtype=np.float32)
    assert ssim(half, quarter)[0] == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-5)
    assert ssim(half, half)[0] == pytest.approx(1.0)
    # a lone bright pixel is removed by the 3x3 median, a 3x3 square keeps its centre
    assert median3(one_hot).max() == 0
    square = clean.copy()
    square[0, 2:5, 2:5] = 1.0
    assert median3(square)[0, 3, 3] == 1.0


def test_tiny_training_beats_noisy_input():
    train, held_out = digits(256, seed=0), digits(64, seed=1)
    settings = {**DENOISER, "rate": 0.3, "seed": 0, "epochs": 2, "batch_size": 16, "lr": 2e-3}
    model, history = train_denoiser(train, settings)
    assert len(history) == 2 and history[-1]["loss"] < history[0]["loss"]
    noisy = noisy_images(held_out, 0.3, seed=0)
    clean = to_float(held_out).numpy()[:, 0]
    denoised = predict(model, noisy).numpy()[:, 0]
    assert psnr(clean, denoised).mean() > psnr(clean, noisy.numpy()[:, 0]).mean() + 3


def test_rates_in_one_process_equal_each_alone_and_a_finished_rate_is_restored(tmp_path, caplog):
    """rule train_denoiser trains a seed's rates one after the other in one process: each
    de-noiser equals the one trained in a fresh process state, and a rate whose resume file
    says it finished (the job was stopped at a later rate) is restored from it, not retrained."""
    train = digits(128, seed=0)
    base = {**DENOISER, "seed": 3, "epochs": 2, "batch_size": 16, "lr": 2e-3}
    alone, _ = train_denoiser(train, {**base, "rate": 0.5})
    torch.manual_seed(123)  # another rate trained first leaves the global state elsewhere
    train_denoiser(train, {**base, "rate": 0.2})
    after, _ = train_denoiser(train, {**base, "rate": 0.5}, checkpoint=tmp_path / "p0.5.pt.resume")
    for a, b in zip(alone.state_dict().values(), after.state_dict().values()):
        assert torch.equal(a, b)
    caplog.set_level("INFO", logger="aeclust")
    caplog.clear()  # only what the restoring call logs
    restored, history = train_denoiser(train, {**base, "rate": 0.5}, checkpoint=tmp_path / "p0.5.pt.resume")
    assert "after epoch 2" in caplog.text and [h["epoch"] for h in history] == [1, 2]
    assert "epoch 1/2" not in caplog.text  # no epoch trained again
    for a, b in zip(alone.state_dict().values(), restored.state_dict().values()):
        assert torch.equal(a, b)


class Constant(nn.Module):
    """A collapsed de-noiser: the same black image whatever the input."""

    def forward(self, x):
        return torch.zeros_like(x)


def test_evaluate_scores_and_refuses_a_collapsed_model():
    images = digits(40, seed=2).numpy()
    labels = np.arange(40) % 10
    classifier = build_model({"kind": "classifier", "hidden": [8]})
    with pytest.raises(TrainingError, match="collapsed to a constant image"):
        evaluate(Constant(), classifier, images, labels, rate=0.3, seed=0, n_examples=4)
    with pytest.raises(TrainingError, match="not above the noisy input"):  # returns its input unchanged
        evaluate(nn.Identity(), classifier, images, labels, rate=0.3, seed=0, n_examples=4)

    class Clean(nn.Module):  # an oracle that knows the clean images
        def forward(self, x):
            return to_float(torch.from_numpy(images))

    metrics, examples = evaluate(Clean(), classifier, images, labels, rate=0.3, seed=0, n_examples=4)
    assert metrics["psnr_denoised"] == np.inf or metrics["psnr_denoised"] > 50
    assert metrics["ssim_denoised"] == pytest.approx(1.0)
    assert metrics["accuracy_denoised"] == metrics["accuracy_clean"]
    assert metrics["psnr_noisy"] < metrics["psnr_median"]
    assert abs(metrics["changed_fraction"] - 0.3) < 0.02
    assert examples["labels"].tolist() == [0, 1, 2, 3] and examples["noisy"].shape == (4, 28, 28)
    assert float(examples["rate"]) == 0.3 and int(examples["seed"]) == 0


def test_evaluate_without_labels_scores_psnr_and_ssim_only():
    """Images without labels have no classifier: PSNR and SSIM of every version, no legibility."""
    images = digits(24, seed=3).numpy()
    labels = np.full(24, -1)  # aeclust.images.UNLABELLED

    class Clean(nn.Module):
        def forward(self, x):
            return to_float(torch.from_numpy(images))

    metrics, examples = evaluate(Clean(), None, images, labels, rate=0.3, seed=0, n_examples=4)
    assert {
        "psnr_noisy",
        "psnr_median",
        "psnr_denoised",
        "ssim_noisy",
        "ssim_median",
        "ssim_denoised",
    } <= metrics.keys()
    assert not [k for k in metrics if k.startswith("accuracy_")]
    assert metrics["ssim_denoised"] == pytest.approx(1.0) and metrics["psnr_noisy"] < metrics["psnr_median"]
    assert examples["noisy"].shape == (4, 28, 28) and (examples["labels"] == -1).all()


def test_eval_subset_keeps_what_is_not_per_image():
    """A user's subsets carry their class names (one per class): drawn images, names kept whole."""
    subset = {
        "images": np.zeros((6, 4, 4)),
        "labels": np.array([0, 1, 2, 0, 1, 2]),
        "split": np.array(["test"] * 6),
        "index": np.arange(6),
        "source": np.array([f"{i}.png" for i in range(6)]),
        "label_names": np.array(["cat", "dog", "owl"]),
    }
    picked = eval_subset(subset, 1)
    assert picked["labels"].tolist() == [0, 1, 2] and picked["label_names"].tolist() == ["cat", "dog", "owl"]
    assert len(picked["source"]) == 3 and eval_subset({**subset, "label_names": np.array([], dtype=str)}, None)[
        "index"
    ].tolist() == list(range(6))


def test_table_and_figure_without_legibility(tmp_path):
    from aeclust import claims, plots

    rec = {
        "n": 10,
        "changed_fraction": 0.2,
        "ssim_noisy": 0.1,
        "ssim_median": 0.3,
        "ssim_denoised": 0.8,
        "psnr_noisy": 12.0,
        "psnr_median": 18.0,
    }
    records = [{**rec, "rate": r, "seed": s, "psnr_denoised": 22.0 + s} for r in (0.2, 0.5) for s in (0, 1)]
    table = denoise_table(records)
    assert not [c for c in table.columns if c.startswith("accuracy_")] and "ssim_denoised_mean" in table
    text = denoise_markdown(table, [0, 1])
    header = next(line for line in text.splitlines() if line.startswith("| p |"))
    rule = text.splitlines()[text.splitlines().index(header) + 1]
    assert header.endswith("| SSIM AE |") and "acc." not in text and rule.count("---") == header.count("|") - 1 == 9
    assert "| 0.2 | 0.200 ± 0.000 | 12.00 ± 0.00 | 18.00 ± 0.00 | 22.50 ± 0.71 | 4.50 ± 0.71 | 0.100 ± 0.000 |" in text
    plots.plot_denoise_curves(table, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    # the study's Section 3 needs legibility: no verdict without it
    found = claims.denoising_claims(table)
    assert len(found) == 1 and found[0].verdict == claims.NOT_RUN and "no legibility scores" in found[0].result
    # with legibility the table is as it always was: the four accuracy columns last
    legible = denoise_table(
        [{**r, **{f"accuracy_{v}": 0.9 for v in ("clean", "noisy", "median", "denoised")}} for r in records]
    )
    assert list(legible.columns[-8:]) == [
        f"accuracy_{v}_{s}" for v in ("clean", "noisy", "median", "denoised") for s in ("mean", "sd")
    ]
    assert "| acc. clean | acc. noisy | acc. median | acc. AE |" in denoise_markdown(legible, [0, 1])
    assert len(claims.denoising_claims(legible)) == 2


def test_example_indices_one_per_digit_first():
    labels = np.array([3, 0, 0, 1, 3, 1, 2])
    assert labels[example_indices(labels, 5)].tolist() == [0, 1, 2, 3, 0]


def test_held_out_check():
    train = {"split": np.array(["train", "train"]), "index": np.array([4, 7])}
    check_held_out({"split": np.array(["test", "test"]), "index": np.array([4, 7])}, train)
    with pytest.raises(ValueError, match="1 evaluation images are also training images"):
        check_held_out({"split": np.array(["test", "train"]), "index": np.array([4, 7])}, train)


def test_table_mean_and_spread_over_seeds():
    rec = {
        "n": 10,
        "changed_fraction": 0.2,
        "ssim_noisy": 0.1,
        "ssim_median": 0.3,
        "ssim_denoised": 0.8,
        "accuracy_clean": 0.9,
        "accuracy_noisy": 0.5,
        "accuracy_median": 0.7,
        "accuracy_denoised": 0.85,
        "psnr_noisy": 12.0,
        "psnr_median": 18.0,
    }
    records = [
        {**rec, "rate": 0.2, "seed": 0, "psnr_denoised": 22.0},
        {**rec, "rate": 0.2, "seed": 1, "psnr_denoised": 24.0},
        {**rec, "rate": 0.5, "seed": 0, "psnr_denoised": 19.0},
    ]
    table = denoise_table(records)
    assert table["rate"].tolist() == [0.2, 0.5] and table["seeds"].tolist() == [2, 1]
    row = table.iloc[0]
    assert row["psnr_denoised_mean"] == 23.0 and row["psnr_denoised_sd"] == pytest.approx(np.sqrt(2))
    assert row["gain_over_median_mean"] == 5.0 and row["gain_over_median_sd"] == pytest.approx(np.sqrt(2))
    assert row["gain_over_noisy_mean"] == 11.0 and table.iloc[1]["gain_over_noisy_mean"] == 7.0
    assert not any("benchmark" in c for c in table.columns)  # no number without code in this repository
    text = denoise_markdown(table, [0, 1])
    assert "| 0.2 | 0.200 ± 0.000 | 12.00 ± 0.00 | 18.00 ± 0.00 | 23.00 ± 1.41 | 5.00 ± 1.41 |" in text
    assert "benchmark" not in text.lower()


# -- end to end, on the tiny DAG that tests/conftest.py runs once ------------------------------


@pytest.mark.e2e
def test_denoising_dag_outputs(tiny_results):
    dn = tiny_results / "denoise"
    table = pd.read_csv(dn / "denoising.csv")
    assert table["rate"].tolist() == [0.2, 0.5] and (table["seeds"] == 2).all() and (table["n"] == 100).all()
    assert (table["psnr_denoised_mean"] > table["psnr_noisy_mean"]).all()
    assert (table["changed_fraction_mean"] - table["rate"]).abs().max() < 0.02
    for _, row in table.iterrows():  # the table is the mean over the per-seed metric files
        runs = [json.loads(p.read_text()) for p in sorted((dn / "metrics").glob(f"p{row['rate']:g}_s*.json"))]
        assert len(runs) == row["seeds"]
        for key in ("accuracy_clean", "psnr_denoised", "gain_over_noisy"):
            values = [r["psnr_denoised"] - r["psnr_noisy"] if key == "gain_over_noisy" else r[key] for r in runs]
            assert row[f"{key}_mean"] == pytest.approx(np.mean(values)) and row[f"{key}_sd"] == pytest.approx(
                np.std(values, ddof=1)
            )
        assert all(len(r["provenance"]["library_sha256"]) == 64 for r in runs)
    assert "| 0.2 |" in (dn / "denoising.md").read_text()
    for name in ("examples", "curves"):
        png = dn / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    settings = json.loads((dn / "models" / "p0.5_s1.json").read_text())
    assert (
        settings["arch"] == "denoiser" and settings["rate"] == 0.5 and settings["seed"] == 1 and settings["epochs"] == 1
    )
    loss = pd.read_csv(dn / "models" / "p0.5_s1_loss.tsv", sep="\t")
    assert list(loss["epoch"]) == [1] and (loss["samples_per_s"] > 0).all()
    assert not list((dn / "models").glob("*.resume"))
    assert (tiny_results / "benchmarks" / "train_denoiser" / "s0.tsv").exists()
    metrics = json.loads((dn / "metrics" / "p0.2_s0.json").read_text())
    assert metrics["psnr_median"] > metrics["psnr_noisy"]


@pytest.mark.e2e
def test_denoise_settings_rerun_only_their_jobs(tiny_run, tmp_path):
    jobs = dry_run_jobs(tiny_run, configfile=overlay(tmp_path, "denoise: {examples: 3}"))
    # summarize reads denoising.csv for the study's legibility claim, so it follows
    assert jobs == {"evaluate_denoiser": 2, "summarize_denoising": 1, "plot_denoising": 1, "summarize": 1, "default": 1}
    jobs = dry_run_jobs(tiny_run, configfile=overlay(tmp_path, "denoise: {rates: [0.2, 0.5, 0.3]}"))
    assert jobs["train_denoiser"] == 2 and jobs["evaluate_denoiser"] == 2
    assert "train_classifier" not in jobs and "train_autoencoder" not in jobs


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "denoise: {rates: [0.2, 1.0]}",
            "config error at denoise/rates/1: 1.0 is greater than or equal to the maximum of 1",
        ),
        ("denoise: {rates: [0.0]}", "config error at denoise/rates/0: 0.0 is less than or equal to the minimum of 0"),
        (
            "denoise: {eval_per_class: 11}",
            "denoise/eval_per_class: 11 images per class, the clustering subset holds 10 (allowed: 1..10)",
        ),
        ("denoise: {arch: mlp}", "config error at denoise/arch: 'mlp' is not one of ['denoiser', 'conv']"),
    ],
)
def test_bad_denoise_config_fails_at_once(text, message):
    from aeclust.config import ConfigError
    from conftest import load_config

    with pytest.raises(ConfigError) as exc:
        load_config(text)
    assert message in str(exc.value)


@pytest.mark.e2e
def test_default_config_trains_one_denoiser_per_rate_and_seed(tmp_path):
    jobs = dry_run_jobs(tmp_path, configfile=None)
    assert jobs["train_denoiser"] == jobs["evaluate_denoiser"] == 3  # 6 rates x 3 seeds, one job per seed
    assert jobs["summarize_denoising"] == 1 and jobs["plot_denoising"] == 1
