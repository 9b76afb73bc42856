"""Label-free preprocessing of the drawn images, applied once when the subsets are made.

:func:`deskew` straightens handwriting: each image is sheared so that its ink's principal
axis is upright and moved so that its centre of mass sits at the image centre (the
moment-based deskewing of LeCun et al.'s MNIST benchmarks). It uses nothing but the
image's own pixels. Slanted and upright strokes of one digit then coincide, so
neighbours in pixel space agree more often. It suits digits and letters, not clothes:
a shirt has no slant to undo.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def deskew_tensor(x: torch.Tensor) -> torch.Tensor:
    """Float images ``x`` [B, C, H, W] -> deskewed and centred images, same shape (bilinear,
    zeros outside). The shear and shift come from the moments of the channels' mean."""
    if x.dim() != 4:
        raise ValueError(f"deskew: expected images [B, C, H, W], got shape {tuple(x.shape)}")
    b, _, h, w = x.shape
    ink = x.mean(1)  # [B, H, W]
    rows = (torch.arange(h, dtype=x.dtype) + 0.5) * 2 / h - 1  # pixel centres, normalised to [-1, 1]
    cols = (torch.arange(w, dtype=x.dtype) + 0.5) * 2 / w - 1
    yy, xx = torch.meshgrid(rows, cols, indexing="ij")
    tiny = torch.finfo(x.dtype).tiny  # a blank image (no ink) gets cx = cy = shear = 0: the identity
    mass = ink.sum((1, 2)).clamp_min(tiny)
    cy = (ink * yy).sum((1, 2)) / mass
    cx = (ink * xx).sum((1, 2)) / mass
    dy, dx = yy - cy[:, None, None], xx - cx[:, None, None]
    var_y = (ink * dy * dy).sum((1, 2)) / mass  # 0 only when all ink is in one row, and then cov_xy = 0
    cov_xy = (ink * dx * dy).sum((1, 2)) / mass
    # horizontal shift per unit of height; the ratio of normalised moments is already the
    # shear in normalised coordinates, whatever the aspect ratio
    shear = cov_xy / var_y.clamp_min(tiny)
    theta = torch.zeros(b, 2, 3, dtype=x.dtype)
    theta[:, 0, 0] = 1  # input x = output x + shear * output y + cx
    theta[:, 0, 1] = shear
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = 1  # input y = output y + cy
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def deskew(images: np.ndarray, batch: int = 8192) -> np.ndarray:
    """uint8 images [N, H, W] (grey) or [N, C, H, W] (colour) -> deskewed uint8 images of the same shape."""
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"deskew: expected uint8 images [N, H, W] or [N, C, H, W], got {images.dtype} {images.shape}")
    out = np.empty_like(images)
    for start in range(0, len(images), batch):
        x = torch.from_numpy(images[start : start + batch]).float().div_(255)
        x = x[:, None] if images.ndim == 3 else x
        y = deskew_tensor(x).clamp_(0, 1).mul_(255).round_().to(torch.uint8)
        out[start : start + batch] = (y[:, 0] if images.ndim == 3 else y).numpy()
    return out
