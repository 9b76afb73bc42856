"""Per-cluster example grids: what each cluster holds, for a person to look at."""

from __future__ import annotations

import numpy as np

from .plots import plt, save_figure


def display(images: np.ndarray) -> np.ndarray:
    """uint8 images as matplotlib shows them: [N, H, W] grey, or [N, H, W, 3] from [N, 3, H, W]."""
    return np.moveaxis(images, 1, 3) if images.ndim == 4 else images


def plot_cluster_grid(
    images: np.ndarray, picks: dict[int, np.ndarray], sizes: dict[int, int], path, title: str
) -> None:
    """One row per cluster: its images nearest the cluster's centre, nearest first.

    ``images``: uint8 [N, H, W] or [N, 3, H, W]; ``picks``: cluster id -> indices into ``images``."""
    shown = display(images)
    per_row = max(len(v) for v in picks.values())
    h, w = shown.shape[1:3]
    scale = 0.55 * max(1.0, 28 / max(h, w)) * max(h, w) / 28
    fig, axes = plt.subplots(
        len(picks),
        1,
        figsize=(scale * per_row * w / max(h, w) + 1.6, scale * len(picks) * 1.12 + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for ax, (cluster, idx) in zip(axes[:, 0], sorted(picks.items())):
        gap = np.full((h, max(1, w // 14), *shown.shape[3:]), 255, dtype=np.uint8)
        tiles = []
        for i in idx:
            tiles += [shown[i], gap]
        blank = np.full_like(shown[0], 255)
        tiles += [blank, gap] * (per_row - len(idx))
        strip = np.concatenate(tiles[:-1], axis=1)
        ax.imshow(strip, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(f"cluster {cluster}\n({sizes[cluster]} images)", rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
