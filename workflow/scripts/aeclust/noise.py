"""The study's noise model: a fraction ``p`` of pixels, chosen at random, replaced by a
random grey level (uniform in [0, 1]).

Each pixel is hit independently with probability ``p`` (so the changed fraction is
``p`` up to sampling error). Every draw comes from an explicit ``torch.Generator``:
the same seed gives the same noisy images. With one generator state, the masks of
two rates are nested and the grey levels shared (common random numbers), so rates
differ only by how much noise they add.
"""

from __future__ import annotations

import torch

from .train import epoch_generator, to_float

# Evaluation noise comes from "epoch 0" of a seed, which training never uses
# (its epochs count from 1): independent of every training epoch's noise.
EVAL_EPOCH = 0


def check_rate(p: float) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"noise rate: expected a fraction in [0, 1], got {p}")
    return p


def add_noise(clean: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Replace each pixel of float images in [0, 1] with probability ``p`` by a uniform grey level.

    ``clean``: float tensor of any shape (e.g. [B, 1, 28, 28]); a new tensor is returned.
    Usable as the ``corrupt`` hook of :func:`aeclust.train.fit` via :func:`corrupter`.
    """
    p = check_rate(p)
    # colour [B, C, H, W]: a pixel is hit in all its channels, by one grey level (C = 1 as always)
    shape = (clean.shape[0], 1, *clean.shape[2:]) if clean.dim() == 4 else clean.shape
    hit = torch.rand(shape, generator=generator, device=clean.device) < p
    grey = torch.rand(shape, generator=generator, device=clean.device, dtype=clean.dtype)
    return torch.where(hit, grey, clean)


def corrupter(p: float):
    """The ``corrupt(clean, generator)`` hook of :func:`aeclust.train.fit` for rate ``p``."""
    p = check_rate(p)

    def corrupt(clean: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return add_noise(clean, p, generator)

    return corrupt


def noisy_images(images: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    """A fixed noisy copy of ``images`` (uint8 or float, [N, 28, 28]) for evaluation: float [N, 1, 28, 28]."""
    clean = to_float(images.cpu())
    return add_noise(clean, p, epoch_generator(seed, EVAL_EPOCH))
