"""Networks, noise, scores and figures for a user's image size and channels; MNIST's stay as they were."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from aeclust import denoise, noise, plots
from aeclust.models import IMAGE_SHAPE, build_model, input_settings, load_checkpoint, save_checkpoint
from aeclust.train import FitConfig, fit, predict

SHAPES = [(3, 16, 16), (1, 64, 64), (3, 20, 12), (1, 28, 28)]
ARCHS = [
    {"kind": "autoencoder", "arch": "conv"},
    {"kind": "autoencoder", "arch": "mlp", "mlp_dims": [32], "latent": 6},
    {"kind": "autoencoder", "arch": "denoiser", "channels": [4, 8, 8]},
]


def test_input_settings_say_nothing_for_mnist():
    assert input_settings(np.zeros((5, 28, 28), np.uint8)) == {}
    assert input_settings(np.zeros((5, 1, 28, 28), np.uint8)) == {}
    assert input_settings(np.zeros((5, 3, 16, 20), np.uint8)) == {"image_shape": [3, 16, 20]}
    assert input_settings(np.zeros((5, 32, 32), np.uint8)) == {"image_shape": [1, 32, 32]}


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: a["arch"])
def test_networks_fit_the_image_shape(shape, arch):
    settings = {**arch, "image_shape": list(shape)}
    model = build_model(settings).eval()
    x = torch.rand(3, *shape)
    assert model(x).shape == (3, *shape)
    code = model.encode(x)
    assert code.shape == (3, model.embedding_dim)
    if arch["arch"] == "conv":
        assert model.embedding_dim == 64  # the code stays 64 values at every size
    if arch["arch"] == "mlp":
        assert model.encoder[0].in_features == int(np.prod(shape))


def test_default_shape_builds_the_mnist_networks():
    conv = build_model({"kind": "autoencoder", "arch": "conv"})
    assert conv.image_shape == IMAGE_SHAPE and conv._pad == (2, 2, 2, 2) and len(conv.encoder) == 3
    assert [m.in_channels for m in conv.encoder if isinstance(m, torch.nn.Conv2d)] == [32]
    assert build_model({"kind": "classifier", "hidden": [100]}).net[0].in_features == 784
    assert build_model({"kind": "autoencoder", "arch": "denoiser"}).embedding_dim == 64 * 7 * 7


def test_colour_autoencoder_trains_and_reloads(tmp_path):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (48, 3, 16, 16), dtype=torch.uint8)
    settings = {"kind": "autoencoder", "arch": "conv", "channels": [4, 8], "image_shape": [3, 16, 16]}
    model = build_model(settings)
    history = fit(model, images, FitConfig(2, 16, 1e-2, 0))
    assert len(history) == 2 and history[1]["loss"] < history[0]["loss"]
    save_checkpoint(tmp_path / "m.pt", model, settings)
    again, _ = load_checkpoint(tmp_path / "m.pt", settings)
    assert torch.equal(predict(again, images[:4], fn="encode"), predict(model, images[:4], fn="encode"))
    classifier = build_model({"kind": "classifier", "hidden": [8], "n_classes": 3, "image_shape": [3, 16, 16]})
    assert predict(classifier, images[:5]).shape == (5, 3)


def test_noise_hits_whole_pixels_in_colour_and_grey_as_always():
    g = torch.Generator().manual_seed(3)
    clean = torch.zeros(4, 3, 8, 8)
    noisy = noise.add_noise(clean, 0.5, g)
    hit = noisy != 0
    assert torch.equal(hit[:, 0], hit[:, 1]) and torch.equal(noisy[:, 0], noisy[:, 2])  # one grey level per pixel
    assert 0.35 < hit[:, 0].float().mean() < 0.65
    grey = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    expected = torch.where(torch.rand(grey.shape, generator=g2) < 0.3, torch.rand(grey.shape, generator=g2), grey)
    assert torch.equal(noise.add_noise(grey, 0.3, g1), expected)


def test_scores_and_figures_handle_colour(tmp_path):
    rng = np.random.default_rng(0)
    clean = rng.random((3, 12, 12, 3))
    noisy = np.clip(clean + rng.normal(0, 0.2, clean.shape), 0, 1)
    assert denoise.median3(noisy).shape == clean.shape
    assert (denoise.psnr(clean, clean * 0.98) > denoise.psnr(clean, noisy)).all()
    assert (denoise.ssim(clean, clean) > 0.999).all() and (denoise.ssim(clean, noisy) < 0.9).all()
    images = rng.integers(0, 256, (12, 3, 10, 10), dtype=np.uint8)
    plots.plot_samples(images, np.repeat([0, 1, 2], 4), 3, tmp_path / "s.png", "colour samples")
    examples = {0.2: {v: clean.astype(np.float32) for v in denoise.LEGIBILITY} | {"labels": np.arange(3), "seed": 0}}
    plots.plot_denoise_examples(examples, tmp_path / "d.png")
    for name in ("s.png", "d.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_colour_denoiser_trains_and_is_scored():
    """De-noising a user's colour images: noise, training, PSNR/SSIM/median and legibility in colour."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    images = np.zeros((96, 3, 16, 16), np.uint8)
    labels = np.arange(96) % 3
    for i, c in enumerate(labels):
        r, col = rng.integers(4, 12, 2)
        images[i, c] = (255 * np.exp(-((yy - r) ** 2 + (xx - col) ** 2) / 8.0)).astype(np.uint8)
    settings = {
        "kind": "autoencoder",
        "arch": "denoiser",
        "channels": [8, 16, 16],
        "image_shape": [3, 16, 16],
        "rate": 0.3,
        "seed": 0,
        "epochs": 6,
        "batch_size": 16,
        "lr": 0.005,
    }
    model, history = denoise.train_denoiser(torch.from_numpy(images), settings)
    classifier = build_model({"kind": "classifier", "hidden": [16], "n_classes": 3, "image_shape": [3, 16, 16]})
    fit(
        classifier,
        torch.from_numpy(images),
        FitConfig(3, 16, 0.1, 0, loss="ce", optimizer="sgd"),
        targets=torch.from_numpy(labels),
    )
    metrics, examples = denoise.evaluate(model, classifier, images[:48], labels[:48], 0.3, 0, 3)
    assert metrics["psnr_denoised"] > metrics["psnr_noisy"] and metrics["psnr_median"] > metrics["psnr_noisy"]
    assert 0.25 < metrics["changed_fraction"] < 0.35  # whole pixels: a hit changes (nearly) every channel
    assert examples["denoised"].shape == (3, 16, 16, 3) and metrics["accuracy_clean"] > 0.9
