"""Seeded data augmentation on batches of images, in tensors (no per-image Python loop).

A random affine map per image (rotation, shift, scale: ConvDEC-DA's augmentation for
digits, which stay digits under small turns and moves), then, as options for clothes
(Fashion-MNIST), a random crop of a zero-padded image and a horizontal flip (a flipped
shoe is a shoe; a flipped digit is not, so flips are off for digits).

Every draw comes from the ``torch.Generator`` passed in: same generator state, same
batch. :class:`Augment` has the ``(images, generator) -> images`` signature of
:data:`aeclust.train.Corrupt`, so any training loop that takes a corruption can take it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    rotation: float = 10.0  # degrees: each image turns by U(-rotation, rotation)
    shift: float = 0.1  # fraction of the side: moves by U(-shift, shift) along each axis
    scale: float = 0.1  # zoom factor U(1 - scale, 1 + scale)
    crop: int = 0  # pixels: pad by `crop` zeros, cut a random window of the original size (0 = off)
    hflip: bool = False  # mirror left-right with probability 1/2 (clothes, not digits)

    def __post_init__(self):
        for name, lo, hi in (("rotation", 0, 180), ("shift", 0, 1), ("scale", 0, 1)):
            value = getattr(self, name)
            if not lo <= value < hi or not math.isfinite(value):
                raise ValueError(f"augment.{name}: expected a number in [{lo}, {hi}), got {value!r}")
        if int(self.crop) != self.crop or self.crop < 0:
            raise ValueError(f"augment.crop: expected a whole number of pixels >= 0, got {self.crop!r}")

    @classmethod
    def from_dict(cls, settings: dict[str, Any] | None) -> AugmentConfig:
        settings = dict(settings or {})
        unknown = set(settings) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"augment: unknown setting(s) {sorted(unknown)} (known: {sorted(cls.__dataclass_fields__)})"
            )
        return cls(**settings)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def affine(self) -> bool:
        return self.rotation > 0 or self.shift > 0 or self.scale > 0


def _uniform(n: int, half_width: float, g: torch.Generator, device) -> torch.Tensor:
    return (torch.rand(n, generator=g, device=device) * 2 - 1) * half_width


def sample_affine(n: int, cfg: AugmentConfig, g: torch.Generator, device="cpu") -> dict[str, torch.Tensor]:
    """The random parameters of ``n`` affine maps: angle (radians), scale, shift (fraction of
    the side, x and y). Always draws all four, so the stream does not depend on which are 0."""
    angle = _uniform(n, math.radians(cfg.rotation), g, device)
    scale = 1 + _uniform(n, cfg.scale, g, device)
    shift = torch.stack([_uniform(n, cfg.shift, g, device), _uniform(n, cfg.shift, g, device)], dim=1)
    return {"angle": angle, "scale": scale, "shift": shift}


def affine_matrices(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """[n, 2, 3] matrices for ``F.affine_grid``: output point p shows input point A^-1 (p - t),
    with A = scale * rotation(angle) and t the shift in normalised coordinates ([-1, 1] spans the side)."""
    angle, scale, shift = params["angle"], params["scale"], params["shift"]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    inv = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)  # (s R)^-1 = R^T / s
    t = 2 * shift  # a fraction f of the side is 2f in normalised coordinates
    offset = -(inv @ t.unsqueeze(-1))
    return torch.cat([inv, offset], dim=-1)


def random_affine(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """Each image of float ``x`` [B, C, H, W] under its own random affine map (bilinear, zeros outside)."""
    theta = affine_matrices(sample_affine(len(x), cfg, g, x.device)).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_crop(x: torch.Tensor, pad: int, g: torch.Generator) -> torch.Tensor:
    """Pad ``x`` [B, C, H, W] by ``pad`` zeros and cut one random H x W window per image."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=g, device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=g, device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # [B, H, 1]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]  # [B, 1, W]
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]


def random_hflip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Mirror each image of ``x`` [B, C, H, W] left-right with probability 1/2."""
    flip = torch.rand(len(x), generator=g, device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def augment(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """Float images ``x`` [B, C, H, W] -> augmented images of the same shape and dtype."""
    if x.dim() != 4:
        raise ValueError(f"augment: expected images [B, C, H, W], got shape {tuple(x.shape)}")
    out = x
    if cfg.affine:
        out = random_affine(out, cfg, g)
    if cfg.crop:
        out = random_crop(out, int(cfg.crop), g)
    if cfg.hflip:
        out = random_hflip(out, g)
    return out


class Augment:
    """``Augment(cfg)(images, generator)``: :func:`augment` as a training loop's corruption."""

    def __init__(self, cfg: AugmentConfig | dict[str, Any] | None):
        self.cfg = cfg if isinstance(cfg, AugmentConfig) else AugmentConfig.from_dict(cfg)

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        return augment(x, self.cfg, g)

    def __repr__(self) -> str:
        return f"Augment({self.cfg})"
