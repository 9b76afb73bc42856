"""One training loop for every network (autoencoders, de-noisers, the classifier).

Data stay in memory as tensors and batches are slices of a seeded permutation;
each epoch's shuffle and noise come from a generator seeded by (seed, epoch), so a
run resumed from its per-epoch checkpoint equals an uninterrupted one.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .io import atomic_path

log = logging.getLogger("aeclust")

Corrupt = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class TrainingError(RuntimeError):
    """Training produced something no later step should trust (NaN loss, collapsed output)."""


@dataclass
class FitConfig:
    epochs: int
    batch_size: int
    lr: float
    seed: int
    loss: str = "mse"  # mse: reconstruct the clean input; ce: classify labels
    optimizer: str = "adam"  # adam | sgd
    precision: str = "fp32"  # fp32 | bf16: bfloat16 autocast of the forward pass (weights and Adam stay float32)
    checkpoint: str | os.PathLike | None = None  # per-epoch resume file (deleted on success)
    resume_key: dict[str, Any] = field(default_factory=dict)  # settings a checkpoint must match to be resumed
    start_from: str | os.PathLike | None = None  # training state of the same run at an earlier epoch to continue


def epoch_generator(seed: int, epoch: int, device: torch.device | str = "cpu") -> torch.Generator:
    """The generator of one epoch: independent of every other epoch, so resuming is exact."""
    g = torch.Generator(device=device)
    g.manual_seed(seed * 100_003 + epoch)
    return g


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float in [0, 1] with a channel axis: [B, 1, 28, 28]."""
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    return x.view(len(x), 1, x.shape[-2], x.shape[-1]) if x.dim() == 3 else x


def _memory_format(model: nn.Module) -> torch.memory_format:
    """Convolutions on CPU run 1.5-2x faster in channels_last (PITFALLS.md)."""
    has_conv = any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())
    return torch.channels_last if has_conv else torch.contiguous_format


def _make_optimizer(model: nn.Module, cfg: FitConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        # fused: one pass over the weights per step. On this 2-core CPU the 3.3M-weight
        # MLP's step takes 2.5 ms instead of 11 ms: 1.35x the samples/s at batch 256.
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr)
    raise ValueError(f"optimizer: expected adam or sgd, got {cfg.optimizer!r}")


def _load_resume(path: Path, cfg: FitConfig, model: nn.Module, opt: torch.optim.Optimizer) -> tuple[int, list[dict]]:
    """Restore a per-epoch checkpoint written by an interrupted run; (0, []) when none fits."""
    if not path.exists():
        return 0, []
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob.get("resume_key") != cfg.resume_key or int(blob["epoch"]) > cfg.epochs:
            log.info("checkpoint %s was written with other settings: starting over", path)
            return 0, []
        model.load_state_dict(blob["model"])
        opt.load_state_dict(blob["optimizer"])
    except Exception as exc:  # a checkpoint we cannot read is not trusted
        log.warning("checkpoint %s unreadable (%s): starting over", path, str(exc).splitlines()[0] if str(exc) else exc)
        return 0, []
    log.info("resuming from %s after epoch %d", path, blob["epoch"])
    return int(blob["epoch"]), list(blob["history"])


class StateError(ValueError):
    """A training state to continue from that does not belong to this run, with a one-line reason."""


def _continue_from(path: Path, cfg: FitConfig, model: nn.Module, opt: torch.optim.Optimizer) -> tuple[int, list[dict]]:
    """Load the full training state (weights, optimizer, epoch, history) that ``cfg.start_from`` names."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        epoch, key = int(blob["epoch"]), blob.get("resume_key")
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StateError(f"{path}: not a readable training state ({first})") from None
    if key != cfg.resume_key:
        raise StateError(f"{path}: a training state of other settings ({key}), expected {cfg.resume_key}")
    if epoch > cfg.epochs:
        raise StateError(f"{path}: trained {epoch} epochs, more than the {cfg.epochs} asked for")
    model.load_state_dict(blob["model"])
    opt.load_state_dict(blob["optimizer"])
    log.info("continuing from %s after epoch %d", path, epoch)
    return epoch, list(blob["history"])


def _state_epoch(path: Path) -> int:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])
    except Exception:
        return 0


def _save_resume(
    path: Path, cfg: FitConfig, model: nn.Module, opt: torch.optim.Optimizer, epoch: int, history: list[dict]
) -> None:
    with atomic_path(path) as tmp:
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "epoch": epoch,
                "history": history,
                "resume_key": cfg.resume_key,
            },
            tmp,
        )


# A test hook (tests/test_trust.py interrupts jobs at a known point): with this variable set
# to N, a fit that has saved its resume file after epoch N and has epochs left writes
# "<resume file>.held" (holding its process id) and waits there until it is stopped.
HOLD_ENV = "AECLUST_TEST_HOLD_AFTER_EPOCH"


def _hold_for_test(ckpt: Path, epoch: int, epochs: int) -> None:
    if epoch >= epochs or os.environ.get(HOLD_ENV) != str(epoch):
        return
    with atomic_path(Path(f"{ckpt}.held")) as tmp:
        tmp.write_text(f"{os.getpid()}\n")
    while True:
        time.sleep(1)


def fit(
    model: nn.Module,
    inputs: torch.Tensor,
    cfg: FitConfig,
    targets: torch.Tensor | None = None,
    corrupt: Corrupt | None = None,
    device: torch.device | str = "cpu",
    flops_per_sample: float | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` in place; returns one dict per epoch (epoch, loss, seconds, samples_per_s).

    ``inputs``: uint8 or float images [N, 28, 28]. ``targets``: class labels for ``loss='ce'``;
    for ``loss='mse'`` the target is the clean input and ``corrupt(clean, generator)``, when
    given, makes the network's input (a de-noiser). Raises :class:`TrainingError` on a NaN loss.

    Flushes denormal floats to zero (CPU): as a model settles, Adam's moments and the small
    gradients turn denormal and x86 arithmetic on them is slow; N2D's MLP on 2 cores fell
    from 6,400 to 4,800 samples/s at epoch 3 without it, 7,000 with it. The flag is per
    thread: call :func:`aeclust.runtime.set_threads` first (the workflow's scripts do) so that
    OpenMP's worker threads get it too; here it reaches the calling thread.

    ``cfg.start_from``: the training state (``cfg.checkpoint`` as written after an epoch) of a
    run with the same ``resume_key`` that stopped at an earlier epoch: training continues
    from there. Each epoch's shuffle and noise depend only on (seed, epoch), so a 20-epoch
    model continued from the 5-epoch one's state equals one trained 20 epochs straight.

    ``cfg.precision='bf16'`` runs the forward pass (and so the backward's matrix multiplies)
    under bfloat16 autocast, the usual mixed precision: weights, gradients, Adam and the loss
    stay float32. On a CPU with AMX, N2D's MLP trains 1.6x faster (10,300-11,200 -> 16,400-17,400
    samples/s on 2 cores); :func:`aeclust.runtime.resolve_precision` picks it where it is native.
    """
    if cfg.precision not in ("fp32", "bf16"):
        raise ValueError(f"precision: expected fp32 or bf16, got {cfg.precision!r}")
    torch.set_flush_denormal(True)
    device = torch.device(device)
    fmt = _memory_format(model)
    model.to(device=device, memory_format=fmt)
    inputs = inputs.to(device)
    targets = targets.to(device) if targets is not None else None
    opt = _make_optimizer(model, cfg)
    ckpt = Path(cfg.checkpoint) if cfg.checkpoint else None
    start, history = _load_resume(ckpt, cfg, model, opt) if ckpt else (0, [])
    if cfg.start_from and start < _state_epoch(Path(cfg.start_from)):
        start, history = _continue_from(Path(cfg.start_from), cfg, model, opt)
        if ckpt:  # this run's own resume point from the start: a job killed now resumes here
            _save_resume(ckpt, cfg, model, opt, start, history)
            _hold_for_test(ckpt, start, cfg.epochs)
    n = len(inputs)
    for epoch in range(start + 1, cfg.epochs + 1):
        model.train()
        g = epoch_generator(cfg.seed, epoch, device)
        perm = torch.randperm(n, generator=g, device=device)
        t0 = time.perf_counter()
        total = 0.0
        for i in range(0, n, cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            clean = to_float(inputs[idx])
            x = corrupt(clean, g) if corrupt is not None else clean
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
                out = model(x.contiguous(memory_format=fmt) if x.dim() == 4 else x)
            out = out.float()
            if cfg.loss == "mse":
                loss = F.mse_loss(out, clean)
            elif cfg.loss == "ce":
                loss = F.cross_entropy(out, targets[idx].long())
            else:
                raise ValueError(f"loss: expected mse or ce, got {cfg.loss!r}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seconds = time.perf_counter() - t0
        mean_loss = total / n
        if not math.isfinite(mean_loss):
            raise TrainingError(f"epoch {epoch}: loss is {mean_loss} (diverged); lower the learning rate")
        row = {"epoch": epoch, "loss": mean_loss, "seconds": seconds, "samples_per_s": n / seconds}
        if flops_per_sample:
            row["gflops"] = flops_per_sample * n / seconds / 1e9
        history.append(row)
        log.info(
            "epoch %d/%d loss %.6f %.2f s %.0f samples/s%s",
            epoch,
            cfg.epochs,
            mean_loss,
            seconds,
            row["samples_per_s"],
            f" {row['gflops']:.1f} GFLOP/s" if flops_per_sample else "",
        )
        if ckpt:
            _save_resume(ckpt, cfg, model, opt, epoch, history)
            _hold_for_test(ckpt, epoch, cfg.epochs)
    model.eval()
    return history


@torch.no_grad()
def predict(
    model: nn.Module,
    inputs: torch.Tensor,
    fn: str = "forward",
    batch_size: int = 1024,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Run ``model.<fn>`` (forward, encode, ...) over ``inputs`` in eval mode; CPU float result."""
    device = torch.device(device)
    fmt = _memory_format(model)
    model.to(device=device, memory_format=fmt).eval()
    call = getattr(model, fn)
    outs = []
    for i in range(0, len(inputs), batch_size):
        x = to_float(inputs[i : i + batch_size].to(device))
        outs.append(call(x.contiguous(memory_format=fmt)).float().cpu())
    return torch.cat(outs)


def check_not_collapsed(outputs: torch.Tensor, what: str, min_std: float = 1e-3) -> None:
    """Fail when a network's outputs no longer depend on its input (one constant image)."""
    spread = outputs.reshape(len(outputs), -1).std(dim=0).mean().item()
    if not math.isfinite(spread) or spread < min_std:
        raise TrainingError(
            f"{what}: output collapsed to a constant image (mean per-pixel std over images {spread:.2e} < {min_std}); "
            "not writing a useless model"
        )


def flops_per_sample(model: nn.Module, sample: torch.Tensor) -> float:
    """Training FLOPs of one sample: 3x the forward multiply-adds x 2 (fwd + 2 bwd passes)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(to_float(sample[:1]))
    return 3.0 * counter.get_total_flops()
