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
