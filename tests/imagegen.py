"""Seeded folders of small PNGs for the tests: coloured blobs in a few classes, some grey
and some RGB, with or without class sub-folders, optionally one corrupt file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# class -> (row, col) of the blob's centre in a 16x16 image, and its colour
CLASSES = {"red": ((4, 4), (230, 40, 40)), "green": ((8, 11), (40, 220, 60)), "blue": ((12, 4), (50, 60, 240))}


def blob(cls: str, rng: np.random.Generator, side: int = 16, grey: bool = False) -> np.ndarray:
    (r, c), colour = CLASSES[cls]
    r, c = r + rng.integers(-1, 2), c + rng.integers(-1, 2)
    yy, xx = np.mgrid[:side, :side]
    weight = np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * 2.0**2))
    rgb = weight[..., None] * np.array(colour, dtype=float) + rng.normal(0, 8, (side, side, 3))
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    return rgb.mean(axis=2).astype(np.uint8) if grey else rgb


def make_folder(
    root: Path, per_class: int = 12, sub_folders: bool = True, corrupt: bool = True, seed: int = 0, sizes=(16,)
) -> dict[str, str]:
    """Write the images; returns file (relative to ``root``) -> class. Every third image is grey."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    truth = {}
    for cls in CLASSES:
        for i in range(per_class):
            side = sizes[i % len(sizes)]
            pixels = blob(cls, rng, side, grey=i % 3 == 0)
            rel = f"{cls}/{i:03d}.png" if sub_folders else f"{cls}_{i:03d}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(root / rel)
            truth[rel] = cls
    if corrupt:
        good = (root / next(iter(truth))).read_bytes()
        bad = "red/zz_broken.png" if sub_folders else "zz_broken.png"
        (root / bad).write_bytes(good[: len(good) // 2])  # a truncated PNG
    return truth
