"""The networks: a small convolutional autoencoder (8x8 bottleneck, as the study),
an MLP autoencoder (e.g. N2D's 784-500-500-2000-10) and the supervised MLP classifier.

Every model is built from a plain settings dict (saved as JSON beside each checkpoint)
with :func:`build_model`, so a checkpoint can always be rebuilt and checked.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
# [channels, height, width] of the images a network is built for; MNIST's by default.
# A user's own images (aeclust.images) give theirs as the settings key ``image_shape``.
IMAGE_SHAPE = (1, IMAGE_SIDE, IMAGE_SIDE)


def input_settings(images) -> dict[str, Any]:
    """The settings that size a network for ``images`` ([N, H, W] grey or [N, C, H, W]):
    none for MNIST's 28x28 grey (its settings stay as they always were), else ``image_shape``."""
    shape = tuple(int(v) for v in images.shape[1:])
    shape = (1, *shape) if len(shape) == 2 else shape
    return {} if shape == IMAGE_SHAPE else {"image_shape": list(shape)}


def _padding(size: int, padded: int) -> tuple[int, int]:
    return (padded - size) // 2, padded - size - (padded - size) // 2


def _conv_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)
    )


def _deconv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class ConvAutoencoder(nn.Module):
    """28x28 -> (pad 32) -> 16x16xC1 -> 8x8xC2 -> 8x8x1 = 64-value code -> 28x28.

    Batch normalisation keeps the small network from collapsing to a constant image.
    The decoder works at 8x8 and 16x16 and only its last layer reaches 32x32: with
    channels (16, 32) it trains at ~2x the samples/s of a decoder with a full-width
    convolution at 32x32, for the same bottleneck.

    Other image shapes (``image_shape`` [C, H, W]): the image is padded to a square of
    side 8 x 2^n (the smallest n >= 1 that holds it) and halved n times, so the code
    stays 8x8x1 = 64 values; stages beyond the second keep C2 channels. MNIST's shape
    builds exactly the network above.
    """

    def __init__(self, channels: tuple[int, int] = (16, 32), image_shape: tuple[int, int, int] = IMAGE_SHAPE):
        super().__init__()
        c1, c2 = channels
        c_in, h, w = image_shape
        n = 1
        while 8 * 2**n < max(h, w):
            n += 1
        widths = [c1, c2, *[c2] * (n - 2)][:n]
        self.image_shape, side = (c_in, h, w), 8 * 2**n
        self._pad = (*_padding(w, side), *_padding(h, side))  # left, right, top, bottom
        down = [_conv_block(c_in, widths[0], 2)] + [_conv_block(a, b, 2) for a, b in zip(widths[:-1], widths[1:])]
        self.encoder = nn.Sequential(*down, nn.Conv2d(widths[-1], 1, 3, padding=1))
        first = _conv_block(1, widths[-1], 1)  # made before the rest: the same initial weights as always
        up = [_deconv_block(a, b) for a, b in zip(widths[::-1][:-1], widths[::-1][1:])]
        self.decoder = nn.Sequential(first, *up, nn.ConvTranspose2d(widths[0], c_in, 4, stride=2, padding=1))
        self.embedding_dim = 64

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x.view(-1, *self.image_shape), self._pad)
        return self.encoder(x).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        y = self.decoder(z.view(-1, 1, 8, 8))
        (left, _, top, _), (_, h, w) = self._pad, self.image_shape
        return torch.sigmoid(y[:, :, top : top + h, left : left + w])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def _mlp(dims: list[int], last_activation: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2 or last_activation:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class MLPAutoencoder(nn.Module):
    """784 -> hidden... -> latent -> ...hidden -> 784 with ReLU; linear code, sigmoid output.
    (784 = the values of one image: C x H x W of ``image_shape``.)"""

    def __init__(self, hidden: list[int], latent: int, image_shape: tuple[int, int, int] = IMAGE_SHAPE):
        super().__init__()
        self.image_shape = tuple(image_shape)
        dims = [int(torch.tensor(self.image_shape).prod()), *hidden, latent]
        self.encoder = _mlp(dims, last_activation=False)
        self.decoder = _mlp(dims[::-1], last_activation=False)
        self.embedding_dim = latent

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(len(x), -1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z)).view(-1, *self.image_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class Classifier(nn.Module):
    """The study's supervised reference: an MLP with ReLU hidden layers and 10 logits."""

    def __init__(self, hidden: list[int], n_classes: int = 10, image_shape: tuple[int, int, int] = IMAGE_SHAPE):
        super().__init__()
        n_inputs = int(torch.tensor(tuple(image_shape)).prod())
        self.net = _mlp([n_inputs, *hidden, n_classes], last_activation=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(len(x), -1))


def build_model(settings: dict[str, Any]) -> nn.Module:
    """Rebuild a network from its settings dict (``kind`` + architecture keys)."""
    kind = settings.get("kind")
    shape = tuple(settings.get("image_shape", IMAGE_SHAPE))
    if kind == "autoencoder":
        if settings["arch"] == "conv":
            return ConvAutoencoder(tuple(settings.get("channels", (16, 32))), shape)
        if settings["arch"] == "mlp":
            return MLPAutoencoder(list(settings["mlp_dims"]), int(settings["latent"]), shape)
        if settings["arch"] == "denoiser":
            return ConvDenoiser(tuple(settings.get("channels", (16, 32, 64))), shape)
        raise ValueError(f"autoencoder.arch: expected conv, mlp or denoiser, got {settings['arch']!r}")
    if kind == "classifier":
        return Classifier(list(settings["hidden"]), int(settings.get("n_classes", 10)), shape)
    raise ValueError(f"model settings: unknown kind {kind!r} (expected autoencoder or classifier)")


def architecture(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that decide the shape of the weights (what a checkpoint must match)."""
    keys = {
        "autoencoder": ("kind", "arch", "channels", "mlp_dims", "latent", "image_shape"),
        "classifier": ("kind", "hidden", "n_classes", "image_shape"),
    }
    return {k: settings[k] for k in keys.get(settings.get("kind"), ("kind",)) if k in settings}


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded, with a one-line reason."""


def save_checkpoint(path: str | os.PathLike, model: nn.Module, settings: dict[str, Any]) -> None:
    """Save ``state_dict`` plus the architecture settings, atomically."""
    from .io import atomic_path

    with atomic_path(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "settings": settings}, tmp)


def load_checkpoint(
    path: str | os.PathLike, settings: dict[str, Any] | None = None, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Load a checkpoint (``weights_only=True``) and rebuild its model.

    When ``settings`` is given, the checkpoint's architecture must equal it. Raises
    :class:`CheckpointError` naming the file for a corrupt file or a mismatch.
    """
    try:
        blob = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # corrupt, truncated, not a torch file, pickled code
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({first})") from None
    if not isinstance(blob, dict) or "state_dict" not in blob or "settings" not in blob:
        raise CheckpointError(f"{path}: not an aeclust checkpoint (expected keys state_dict and settings)")
    saved = blob["settings"]
    if settings is not None and architecture(settings) != architecture(saved):
        raise CheckpointError(
            f"{path}: architecture {architecture(saved)} does not match the expected {architecture(settings)}"
        )
    model = build_model(saved)
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: weights do not fit architecture {architecture(saved)} ({str(exc).splitlines()[0]})"
        ) from None
    return model.to(device), saved


class ConvDenoiser(nn.Module):
    """The de-noiser: 28x28 -> 28x28xC1 -> 14x14xC2 -> 7x7xC3 -> 7x7xC3 code -> 28x28.

    Every convolution is followed by batch normalisation (without it a small
    convolutional de-noiser can collapse to an all-black output). The 7x7xC3 code is
    wider than ConvAutoencoder's 64 values: the 64-value code could not get 3 dB past a
    3x3 median filter at low noise, nor 16 dB at 70 % noise (config/README.md).
    """

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 64), image_shape: tuple[int, int, int] = IMAGE_SHAPE):
        super().__init__()
        c1, c2, c3 = channels
        c_in, h, w = image_shape
        # other sizes: padded to multiples of 4 (two halvings), cropped back at the end
        self.image_shape, ph, pw = (c_in, h, w), -(-h // 4) * 4, -(-w // 4) * 4
        self._pad = (*_padding(w, pw), *_padding(h, ph))
        self.encoder = nn.Sequential(
            _conv_block(c_in, c1, 1), _conv_block(c1, c2, 2), _conv_block(c2, c3, 2), _conv_block(c3, c3, 1)
        )
        self.decoder = nn.Sequential(_deconv_block(c3, c2), _deconv_block(c2, c1), nn.Conv2d(c1, c_in, 3, padding=1))
        self.code_shape = (c3, ph // 4, pw // 4)
        self.embedding_dim = c3 * (ph // 4) * (pw // 4)

    def _in(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, *self.image_shape)
        return F.pad(x, self._pad) if any(self._pad) else x

    def _out(self, y: torch.Tensor) -> torch.Tensor:
        if not any(self._pad):
            return y
        (left, _, top, _), (_, h, w) = self._pad, self.image_shape
        return y[:, :, top : top + h, left : left + w]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(self._in(x)).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self._out(self.decoder(z.view(-1, *self.code_shape))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # decode(encode(x)) without flattening the code: keeps the channels_last layout
        return torch.sigmoid(self._out(self.decoder(self.encoder(self._in(x)))))
