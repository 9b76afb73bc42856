"""Figures: confusion matrices, the PCA sweep. One colour per method everywhere."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .io import atomic_path  # noqa: E402
from .study import describe  # noqa: E402


def save_figure(fig, path) -> None:
    """Save a figure atomically (PNG at report size) and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight", format=str(path).rsplit(".", 1)[-1])
    plt.close(fig)


def plot_confusion(cm: np.ndarray, path, method: str, seed: int, accuracy: float, all_accuracies=None) -> None:
    """Aligned confusion matrix: true digit on rows, assigned digit on columns, counts annotated."""
    fig, ax = plt.subplots(figsize=(6, 5.2))
    im = ax.imshow(cm, cmap="Blues")
    n = cm.shape[0]
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("assigned class (cluster aligned by Hungarian matching)")
    ax.set_ylabel("true class")
    thresh = cm.max() / 2 if cm.max() else 1
    for i in range(n):
        for j in range(cm.shape[1]):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7, color="white" if cm[i, j] > thresh else "black")
    title = f"{describe(method)}\nseed {seed}: accuracy {accuracy:.4f}"
    if all_accuracies is not None and len(all_accuracies) > 1:
        title += f" (all seeds {np.mean(all_accuracies):.4f} ± {np.std(all_accuracies, ddof=1):.4f})"
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, label="images")
    save_figure(fig, path)


def plot_sweep(table: pd.DataFrame, path, title: str) -> None:
    """Accuracy (mean ± sd over seeds, and every seed) against PCA components."""
    g = table.groupby("components")["accuracy"]
    mean, sd = g.mean(), g.std(ddof=1).fillna(0)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(table["components"], table["accuracy"], s=10, color="0.6", label="one seed")
    ax.errorbar(mean.index, mean.values, yerr=sd.values, marker="o", capsize=3, color="C3", label="mean ± sd")
    ax.set_xscale("log", base=2)
    ax.set_xticks(mean.index)
    ax.set_xticklabels([str(c) for c in mean.index])
    ax.set_xlabel("PCA components")
    ax.set_ylabel("clustering accuracy (fraction)")
    ax.set_title(title, fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def plot_denoise_examples(examples: dict[float, dict[str, np.ndarray]], path) -> None:
    """The study's Table 1: one row per noise rate, one column per version (clean, noisy,
    3x3 median, autoencoder), each cell the same example digits side by side.

    ``examples``: rate -> what :func:`aeclust.denoise.evaluate` returns as examples."""
    from .denoise import LABELS, LEGIBILITY

    rates = sorted(examples)
    k = len(examples[rates[0]]["labels"])
    fig, axes = plt.subplots(len(rates), len(LEGIBILITY), figsize=(len(LEGIBILITY) * 0.45 * k + 0.8, 0.5 * len(rates) + 0.7),
                             squeeze=False, layout="constrained")
    for row, rate in zip(axes, rates):
        for ax, version in zip(row, LEGIBILITY):
            strip = np.concatenate([np.pad(im, 1, constant_values=1.0) for im in examples[rate][version]], axis=1)
            ax.imshow(strip, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"p = {rate:g}", rotation=0, ha="right", va="center")
    for ax, version in zip(axes[0], LEGIBILITY):
        ax.set_title(LABELS[version], fontsize=10)
    seed = int(examples[rates[0]]["seed"])
    fig.suptitle(f"De-noising at noise rate p (fraction of pixels replaced by a random grey level); seed {seed}", fontsize=10)
    save_figure(fig, path)


def plot_denoise_curves(table: pd.DataFrame, path) -> None:
    """PSNR and legibility (supervised classifier accuracy) against noise rate, mean ± sd over seeds."""
    from .denoise import LABELS, LEGIBILITY, VERSIONS

    colours = {"clean": "0.3", "noisy": "C7", "median": "C0", "denoised": "C3"}
    p = table["rate"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for v in VERSIONS:
        left.errorbar(p, table[f"psnr_{v}_mean"], yerr=table[f"psnr_{v}_sd"], marker="o", capsize=3, color=colours[v], label=LABELS[v])
    if table["benchmark_psnr_denoised"].notna().any():
        left.plot(p, table["benchmark_psnr_denoised"], "x:", color="C3", alpha=0.6, label="autoencoder, benchmark")
    left.set_ylabel("PSNR against the clean image (dB)")
    for v in LEGIBILITY:
        right.errorbar(p, table[f"accuracy_{v}_mean"], yerr=table[f"accuracy_{v}_sd"], marker="o", capsize=3, color=colours[v],
                       label=LABELS[v], linestyle="--" if v == "clean" else "-")
    right.axvspan(0.5, 0.6, color="0.9", zorder=0, label="study: legible up to ~50 %,\nunclear at 60 %")
    right.set_ylim(0, 1)
    right.set_ylabel("legibility: classifier accuracy (fraction)")
    for ax in (left, right):
        ax.set_xlabel("noise rate p")
        ax.set_xticks(p)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"De-noising, mean ± sd over {int(table['seeds'].iloc[0])} seeds, {int(table['n'].iloc[0])} held-out images", fontsize=10)
    save_figure(fig, path)
