"""De-noising (the study's Section 3, measured): train a de-noiser per noise rate, score it
on held-out images against the noisy input and a 3x3 median filter, and, where the data
have labels, measure how legible the images stay to the supervised classifier. The table
over seeds and its Markdown are in :mod:`aeclust.denoise_report` (torch-free).

Scores: PSNR and SSIM from scikit-image (``data_range`` 1, per image, then the mean
over images); the median filter from ``scipy.ndimage``.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from scipy.ndimage import median_filter
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torch import nn

from .denoise_versions import LEGIBILITY, VERSIONS
from .models import build_model
from .noise import corrupter, noisy_images
from .runtime import set_seed
from .subsets import stratified_indices
from .train import FitConfig, TrainingError, check_not_collapsed, fit, flops_per_sample, predict, to_float


def train_denoiser(
    images: torch.Tensor,
    settings: dict,
    device: torch.device | str = "cpu",
    checkpoint: str | os.PathLike | None = None,
) -> tuple[nn.Module, list[dict]]:
    """Fit a de-noiser for rate ``settings['rate']``: fresh noise each epoch, clean target, MSE.

    ``settings``: the model's (``kind``, ``arch``, ...) plus ``rate``, ``seed``, ``epochs``,
    ``batch_size``, ``lr`` and optionally ``precision`` (fp32 | bf16). Raises :class:`TrainingError` when the output collapsed to one image.
    """
    rate, seed = float(settings["rate"]), int(settings["seed"])
    set_seed(seed)
    model = build_model(settings)
    cfg = FitConfig(
        settings["epochs"],
        settings["batch_size"],
        settings["lr"],
        seed,
        precision=settings.get("precision", "fp32"),
        checkpoint=checkpoint,
        resume_key=settings,
    )
    history = fit(
        model,
        images,
        cfg,
        corrupt=corrupter(rate),
        device=device,
        flops_per_sample=flops_per_sample(build_model(settings), images),
    )
    check_not_collapsed(
        predict(model, noisy_images(images[:512], rate, seed), device=device), f"de-noiser at rate {rate}"
    )
    return model, history


def median3(images: np.ndarray) -> np.ndarray:
    """The classical baseline: a 3x3 median filter on each image of [N, H, W] (or of each
    channel of colour images [N, H, W, C])."""
    return median_filter(images, size=(1, 3, 3) if images.ndim == 3 else (1, 3, 3, 1))


def psnr(clean: np.ndarray, other: np.ndarray) -> np.ndarray:
    """PSNR in dB of each image of ``other`` against ``clean`` ([N, H, W] floats in [0, 1])."""
    return np.array([peak_signal_noise_ratio(c, o, data_range=1.0) for c, o in zip(clean, other)])


def ssim(clean: np.ndarray, other: np.ndarray) -> np.ndarray:
    """SSIM (scikit-image defaults, 7x7 window) of each image of ``other`` against ``clean``."""
    axis = -1 if clean.ndim == 4 else None  # colour images [N, H, W, C]
    return np.array([structural_similarity(c, o, data_range=1.0, channel_axis=axis) for c, o in zip(clean, other)])


def accuracy(
    classifier: nn.Module, images: np.ndarray, labels: np.ndarray, device: torch.device | str = "cpu"
) -> float:
    """Fraction of ``images`` (floats in [0, 1]) that ``classifier`` labels correctly."""
    images = np.ascontiguousarray(np.moveaxis(images, 3, 1)) if images.ndim == 4 else images  # colour: channels first
    predicted = predict(classifier, torch.from_numpy(images), device=device).argmax(1).numpy()
    return float(np.mean(predicted == labels))


def check_held_out(evaluated: dict[str, np.ndarray], train: dict[str, np.ndarray]) -> None:
    """Fail when an evaluation image is also a training image (by split and index)."""
    seen = set(zip(train["split"].tolist(), train["index"].tolist()))
    shared = [(s, i) for s, i in zip(evaluated["split"].tolist(), evaluated["index"].tolist()) if (s, i) in seen]
    if shared:
        raise ValueError(
            f"{len(shared)} evaluation images are also training images (e.g. {shared[0][0]} image {shared[0][1]}): "
            "the de-noiser must be scored on held-out images (subsets.train.exclude_cluster: true)"
        )


# What a subsets file holds per image; anything else (a user's class names) is kept whole.
PER_IMAGE = ("images", "labels", "split", "index", "source")


def eval_subset(subset: dict[str, np.ndarray], per_class: int | None) -> dict[str, np.ndarray]:
    """``per_class`` images of each class from ``subset`` (seeded draw; None: all of it)."""
    idx = stratified_indices(
        subset["labels"], np.arange(len(subset["labels"])), per_class, np.random.default_rng(0), "denoise.eval"
    )
    return {k: v[idx] if k in PER_IMAGE else v for k, v in subset.items()}


def example_indices(labels: np.ndarray, n: int) -> np.ndarray:
    """``n`` images for the figure: the first of each digit in digit order, then the second, ..."""
    rank = np.zeros(len(labels), dtype=int)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        rank[members] = np.arange(len(members))
    return np.lexsort((labels, rank))[:n]


def evaluate(
    model: nn.Module,
    classifier: nn.Module | None,
    images: np.ndarray,
    labels: np.ndarray,
    rate: float,
    seed: int,
    n_examples: int,
    device: torch.device | str = "cpu",
) -> tuple[dict, dict[str, np.ndarray]]:
    """Score one de-noiser on held-out ``images`` (uint8 [N, H, W] or [N, 3, H, W]) with noise of ``rate``.

    Returns (metrics, examples). Metrics: ``psnr_<v>``, ``ssim_<v>`` for v in VERSIONS,
    ``accuracy_<v>`` for v in LEGIBILITY (only with a ``classifier``: data without labels
    have none, and no legibility), ``changed_fraction`` of pixels. Examples: the
    clean, noisy, median-filtered and denoised images of :func:`example_indices`, their labels,
    ``rate`` and ``seed``.
    Raises :class:`TrainingError` when the network's output is one constant image or is
    further from the clean images than its input (an all-black image can beat very noisy
    input on PSNR, hence both checks).
    """
    noisy_t = noisy_images(torch.from_numpy(images), rate, seed)
    noisy = _hwc(noisy_t.numpy())
    versions = {
        "clean": _hwc(to_float(torch.from_numpy(images)).numpy()),
        "noisy": noisy,
        "median": median3(noisy),
        "denoised": _hwc(predict(model, noisy_t, device=device).numpy()),
    }
    check_not_collapsed(torch.from_numpy(versions["denoised"]), f"de-noiser at rate {rate}, seed {seed}")
    clean = versions["clean"]
    metrics: dict = {
        "rate": float(rate),
        "seed": int(seed),
        "n": int(len(images)),
        "changed_fraction": float(np.mean(noisy != clean)),
    }
    for v in VERSIONS:
        metrics[f"psnr_{v}"] = float(psnr(clean, versions[v]).mean())
        metrics[f"ssim_{v}"] = float(ssim(clean, versions[v]).mean())
    for v in LEGIBILITY if classifier is not None else ():
        metrics[f"accuracy_{v}"] = accuracy(classifier, versions[v], labels, device)
    check_denoiser_helps(metrics)
    pick = example_indices(labels, n_examples)
    examples = {v: versions[v][pick].astype(np.float32) for v in LEGIBILITY}
    examples.update(labels=labels[pick], rate=np.float64(rate), seed=np.int64(seed))
    return metrics, examples


def _hwc(x: np.ndarray) -> np.ndarray:
    """[N, 1, H, W] -> [N, H, W] (grey, as always); colour [N, C, H, W] -> [N, H, W, C]."""
    return x[:, 0] if x.shape[1] == 1 else np.moveaxis(x, 1, 3)


def check_denoiser_helps(metrics: dict) -> None:
    """Fail a de-noiser whose output is further from the clean images than its noisy input."""
    if not metrics["psnr_denoised"] > metrics["psnr_noisy"]:
        raise TrainingError(
            f"de-noiser at rate {metrics['rate']}, seed {metrics['seed']}: denoised PSNR {metrics['psnr_denoised']:.2f} dB "
            f"is not above the noisy input's {metrics['psnr_noisy']:.2f} dB (collapsed or untrained); not reporting it"
        )
