"""One training loop for every network (autoencoders, de-noisers, the classifier, the
self-labeling CNN).

Data stay in memory as uint8 (or float) tensors and batches are slices of a seeded
permutation, turned to float one batch at a time; each epoch's shuffle, noise and
augmentation come from a generator seeded by (seed, epoch), so a run resumed from its
per-epoch checkpoint equals an uninterrupted one. A checkpoint is resumed only by a run
with the same settings on the same training data (:func:`training_key`).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .io import atomic_path

log = logging.getLogger("aeclust")

# (float batch [B, C, H, W], generator) -> the network's input: noise for a de-noiser,
# augmentation for the self-labeling CNN. Its draws come from the epoch's generator.
Corrupt = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

LOSSES = ("mse", "ce")
SCHEDULES = ("constant", "onecycle")
# A training set up to this size (bytes as stored, uint8 for images) is moved to the
# device once; a larger one stays in host memory and each batch is moved on its own.
DEVICE_RESIDENT_BYTES = 256 * 2**20
PROGRESS_S = 15.0  # a long step logs its progress at least this often (seconds)


class TrainingError(RuntimeError):
    """Training produced something no later step should trust (NaN loss, collapsed output)."""


@dataclass
class FitConfig:
    epochs: int
    batch_size: int
    lr: float
    seed: int
    loss: str = "mse"  # mse: reconstruct the clean input; ce: classify `targets`
    optimizer: str = "adam"  # adam | sgd
    precision: str = "fp32"  # fp32 | bf16: bfloat16 autocast of the forward pass (weights and Adam stay float32)
    schedule: str = "constant"  # constant | onecycle: learning rate up to `lr` over 30 % of the steps, then down
    min_batch: int = 1  # a last batch of fewer images is skipped (2: batch norm wants two images)
    bn_recalibrate: bool = False  # after training: batch-norm statistics from the un-transformed inputs
    checkpoint: str | os.PathLike | None = None  # per-epoch resume file (deleted on success)
    resume_key: dict[str, Any] = field(default_factory=dict)  # settings a checkpoint must match to be resumed
    start_from: str | os.PathLike | None = None  # training state of the same run at an earlier epoch to continue
    progress_s: float = PROGRESS_S  # log progress (samples/s, time left) at least this often

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss: expected mse or ce, got {self.loss!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer: expected adam or sgd, got {self.optimizer!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision: expected fp32 or bf16, got {self.precision!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule: expected {' or '.join(SCHEDULES)}, got {self.schedule!r}")


class History(list):
    """The per-epoch rows of :func:`fit` (a list of dicts), and where its training began:
    ``continued_from`` (the state of ``FitConfig.start_from`` when it was used, else None)
    and ``resumed_after`` (the epoch of the resume file it went on from, 0 when none)."""

    continued_from: str | None = None
    resumed_after: int = 0


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
    """Convolutions on CPU run 1.5-2x faster in channels_last (measured on the conv autoencoder and the de-noiser, 2 threads)."""
    has_conv = any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())
    return torch.channels_last if has_conv else torch.contiguous_format


def _make_optimizer(model: nn.Module, cfg: FitConfig, device: torch.device) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        # fused: one pass over the weights per step. On this 2-core CPU the 3.3M-weight
        # MLP's step takes 2.5 ms instead of 11 ms: 1.35x the samples/s at batch 256.
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=device.type in ("cpu", "cuda"))
    return torch.optim.SGD(model.parameters(), lr=cfg.lr)


def steps_per_epoch(n: int, cfg: FitConfig) -> int:
    """Batches per epoch: a last batch of fewer than ``cfg.min_batch`` images is skipped."""
    return n // cfg.batch_size + (1 if n % cfg.batch_size >= max(1, cfg.min_batch) else 0)


def _make_scheduler(opt: torch.optim.Optimizer, cfg: FitConfig, steps: int):
    if cfg.schedule == "onecycle":  # torch's defaults: 30 % warm-up, cosine down to lr / 10,000
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps)
    return None


# ---------------------------------------------------------------- what a checkpoint must match


def data_fingerprint(*tensors: torch.Tensor | None, chunk_bytes: int = 16 * 2**20) -> str:
    """sha256 over each tensor's shape, dtype and bytes (``None`` counts as absent), read in
    chunks of about ``chunk_bytes``: no copy of the whole set. 60,000 MNIST images: ~0.1 s."""
    h = hashlib.sha256()
    for t in tensors:
        if t is None:
            h.update(b"none;")
            continue
        t = t.detach()
        h.update(f"{tuple(t.shape)}|{t.dtype};".encode())
        flat = t.reshape(-1)
        step = max(1, chunk_bytes // max(1, t.element_size()))
        for i in range(0, len(flat), step):
            h.update(flat[i : i + step].cpu().contiguous().view(torch.uint8).numpy())
    return "sha256:" + h.hexdigest()


def training_key(
    cfg: FitConfig, inputs: torch.Tensor, targets: torch.Tensor | None, device: torch.device | str
) -> dict[str, Any]:
    """Everything a training state depends on besides its epoch: the caller's settings
    (``cfg.resume_key``: the model's architecture and what its ``corrupt`` hook does), the
    loop's own settings, the exact training data and the kind of device. The epoch count
    is part of it only under a schedule that depends on it (one-cycle)."""
    loop = {k: getattr(cfg, k) for k in ("batch_size", "lr", "seed", "loss", "optimizer", "precision", "schedule")}
    loop["min_batch"] = cfg.min_batch
    if cfg.schedule == "onecycle":
        loop["epochs"] = cfg.epochs
    return {
        "settings": dict(cfg.resume_key),
        "loop": loop,
        "data": data_fingerprint(inputs, targets),
        "device": torch.device(device).type,
    }


def _short(settings: dict, k: str) -> str:
    if k not in settings:
        return "unset"
    text = repr(settings[k])
    return text if len(text) <= 60 else text[:57] + "..."


def key_difference(saved: Any, expected: dict[str, Any]) -> str | None:
    """Why a saved training key does not fit this run (one phrase), or None when it does."""
    if not isinstance(saved, dict) or set(saved) != set(expected):
        return "it was written by an older version that did not record its training data"
    if saved["data"] != expected["data"]:
        return f"the training data differ ({saved['data'][:19]}... now {expected['data'][:19]}...)"
    changed: dict[str, str] = {}  # a setting in both parts (seed, lr, ...) named once
    for part in ("settings", "loop"):
        a, b = saved[part], expected[part]
        for k in sorted({*a, *b}):
            if k not in a or k not in b or a[k] != b[k]:
                changed[k] = f"{k}: {_short(a, k)} -> {_short(b, k)}"
    if changed:
        return "other settings (" + "; ".join(changed.values()) + ")"
    if saved["device"] != expected["device"]:
        return f"it was trained on {saved['device']}, this run is on {expected['device']}"
    return None


# ---------------------------------------------------------------- checkpoints


class StateError(ValueError):
    """A training state to continue from that cannot be used, with a one-line reason."""


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_state(path: Path) -> dict:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or not {"model", "optimizer", "epoch", "history"} <= set(blob):
        raise ValueError("not a training state (expected model, optimizer, epoch, history)")
    return blob


def _restore(blob: dict, model: nn.Module, opt: torch.optim.Optimizer, sched) -> None:
    """Load a training state into model, optimizer and schedule: all of it or, on an error, none."""
    before = [copy.deepcopy(x.state_dict()) if x is not None else None for x in (model, opt, sched)]
    try:
        model.load_state_dict(blob["model"])
        opt.load_state_dict(blob["optimizer"])
        if sched is not None:
            sched.load_state_dict(blob["scheduler"])
    except Exception:
        model.load_state_dict(before[0])
        opt.load_state_dict(before[1])
        if sched is not None:
            sched.load_state_dict(before[2])
        raise


def _load_resume(path: Path, key: dict, cfg: FitConfig, model, opt, sched) -> tuple[int, list[dict], str | None]:
    """Restore a per-epoch checkpoint written by an interrupted run: (epoch, history rows, the
    state it had continued from); (0, [], None), after one log line saying why, when none fits."""
    if not path.exists():
        return 0, [], None
    try:
        blob = _read_state(path)
        why = key_difference(blob.get("key"), key)
        if why is None and int(blob["epoch"]) > cfg.epochs:
            why = f"it holds {int(blob['epoch'])} epochs, more than the {cfg.epochs} asked for"
        if why:
            log.info("checkpoint %s does not fit this run (%s): starting over", path, why)
            return 0, [], None
        _restore(blob, model, opt, sched)
    except Exception as exc:  # a checkpoint we cannot read is not trusted
        log.warning("checkpoint %s unreadable (%s): starting over", path, _first_line(exc))
        return 0, [], None
    log.info("resuming from %s after epoch %d", path, blob["epoch"])
    return int(blob["epoch"]), list(blob["history"]), blob.get("continued_from")


def _continue_from(path: Path, key: dict, cfg: FitConfig, model, opt, sched) -> tuple[int, list[dict]] | None:
    """Load the full training state (weights, optimizer, epoch, history) that ``cfg.start_from``
    names; None, after one warning saying why, when it cannot be used (training starts over)."""
    try:
        blob = _read_state(path)
        epoch = int(blob["epoch"])
    except Exception as exc:
        log.warning(
            "%s: not a readable training state (%s): not continuing, training from the start", path, _first_line(exc)
        )
        return None
    why = key_difference(blob.get("key"), key)
    if why:
        log.warning(
            "%s: a training state that does not fit this run (%s): not continuing, training from the start", path, why
        )
        return None
    if epoch > cfg.epochs:
        raise StateError(f"{path}: trained {epoch} epochs, more than the {cfg.epochs} asked for")
    _restore(blob, model, opt, sched)
    log.info("continuing from %s after epoch %d", path, epoch)
    return epoch, list(blob["history"])


def _state_epoch(path: Path) -> int:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])
    except Exception:
        return 0


def _save_resume(path: Path, key: dict, model, opt, sched, epoch: int, history: History) -> None:
    """The training state after ``epoch``, atomically: a job killed later resumes from here."""
    blob = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch, "history": list(history)}
    blob.update(key=key, continued_from=history.continued_from)
    if sched is not None:
        blob["scheduler"] = sched.state_dict()
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)


# ---------------------------------------------------------------- progress


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """Time-based progress of a long step: every ``interval`` seconds (not only at the end of
    an epoch), one log line with the work done, the rate and the estimated time left."""

    def __init__(self, what: str, total: int, interval: float = PROGRESS_S, unit: str = "samples"):
        self.what, self.total, self.interval, self.unit = what, int(total), float(interval), unit
        self.done = 0
        self.start = self.last = time.perf_counter()

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def left(self) -> str:
        rate = self.rate()
        return _duration((self.total - self.done) / rate) if rate > 0 else "unknown"

    def update(self, k: int, where: str = "") -> None:
        self.done += int(k)
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            log.info(
                "%s%s: %d of %d %s (%.0f %%), %.0f %s/s, about %s left",
                self.what,
                f" {where}" if where else "",
                self.done,
                self.total,
                self.unit,
                100.0 * self.done / max(1, self.total),
                self.rate(),
                self.unit,
                self.left(),
            )


# ---------------------------------------------------------------- the loop


def _on_device(x: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    """``x`` moved to ``device`` when small (:data:`DEVICE_RESIDENT_BYTES`), else left where it is."""
    if x is None or x.device == device or x.numel() * x.element_size() > DEVICE_RESIDENT_BYTES:
        return x
    return x.to(device)


def _take(x: torch.Tensor, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Rows ``idx`` of ``x`` (on its own device), as a batch on ``device``."""
    return x[idx.to(x.device)].to(device, non_blocking=True)


def fit(
    model: nn.Module,
    inputs: torch.Tensor,
    cfg: FitConfig,
    targets: torch.Tensor | None = None,
    corrupt: Corrupt | None = None,
    device: torch.device | str = "cpu",
    flops_per_sample: float | None = None,
) -> History:
    """Train ``model`` in place; returns one dict per epoch (epoch, loss, seconds, samples_per_s;
    for ``loss='ce'`` also accuracy: the share of training batches' predictions equal to their
    targets, as the network saw them in training).

    ``inputs``: uint8 or float images [N, H, W] or [N, C, H, W], turned to float one batch
    at a time (the whole set is never copied to float; on a GPU it is moved there once when
    small, else batch by batch). ``targets``: class ids for ``loss='ce'``. For
    ``loss='mse'`` the target is the clean input. ``corrupt(clean, generator)``, when given,
    makes the network's input from each clean float batch: noise for a de-noiser
    (:func:`aeclust.noise.corrupter`), augmentation for a classifier
    (:class:`aeclust.augment.Augment`). Raises :class:`TrainingError` on a NaN loss.

    ``cfg.schedule='onecycle'``: Adam (or SGD) under torch's one-cycle learning-rate schedule,
    stepped after every batch. ``cfg.min_batch``: a last batch of fewer images is skipped
    (batch norm in train mode wants two). ``cfg.bn_recalibrate``: after the last epoch the
    batch-norm statistics are recomputed from the un-corrupted ``inputs``
    (:func:`recalibrate_batchnorm`).

    Flushes denormal floats to zero (CPU): as a model settles, Adam's moments and the small
    gradients turn denormal and x86 arithmetic on them is slow; N2D's MLP on 2 cores fell
    from 6,400 to 4,800 samples/s at epoch 3 without it, 7,000 with it. The flag is per
    thread: call :func:`aeclust.runtime.set_threads` first (the workflow's scripts do) so that
    OpenMP's worker threads get it too; here it reaches the calling thread.

    ``cfg.checkpoint``: the training state is saved there after every epoch; a run finds it
    and resumes only when :func:`training_key` (settings, loop, the exact training data,
    device kind) is the same, else it starts over with one log line saying what differed.
    ``cfg.start_from``: the training state (``cfg.checkpoint`` as written after an epoch) of a
    run with the same key that stopped at an earlier epoch: training continues from there.
    Each epoch's shuffle and noise depend only on (seed, epoch), so a 20-epoch model
    continued from the 5-epoch one's state equals one trained 20 epochs straight. A state
    that is unreadable or does not fit is not used (one warning line; the returned
    history's ``continued_from`` stays None): training starts from the model as given.

    ``cfg.precision='bf16'`` runs the forward pass (and so the backward's matrix multiplies)
    under bfloat16 autocast, the usual mixed precision: weights, gradients, Adam and the loss
    stay float32. On a CPU with AMX, N2D's MLP trains 1.6x faster (10,300-11,200 -> 16,400-17,400
    samples/s on 2 cores); :func:`aeclust.runtime.resolve_precision` picks it where it is native.

    Every ``cfg.progress_s`` seconds (and after each epoch) a log line gives the rate and the
    estimated time left.
    """
    torch.set_flush_denormal(True)
    device = torch.device(device)
    n = len(inputs)
    if cfg.loss == "ce" and (targets is None or len(targets) != n):
        raise ValueError(
            f"fit: loss ce needs one target per input ({n} inputs, targets {None if targets is None else len(targets)})"
        )
    steps = steps_per_epoch(n, cfg)
    fmt = _memory_format(model)
    model.to(device=device, memory_format=fmt)
    opt = _make_optimizer(model, cfg, device)
    sched = _make_scheduler(opt, cfg, steps)
    key = training_key(cfg, inputs, targets, device) if cfg.checkpoint or cfg.start_from else {}
    ckpt = Path(cfg.checkpoint) if cfg.checkpoint else None
    history = History()
    start, rows, history.continued_from = _load_resume(ckpt, key, cfg, model, opt, sched) if ckpt else (0, [], None)
    history.resumed_after = start
    if cfg.start_from and (start == 0 or start < _state_epoch(Path(cfg.start_from))):
        continued = _continue_from(Path(cfg.start_from), key, cfg, model, opt, sched)
        if continued is not None:
            (start, rows), history.continued_from = continued, str(cfg.start_from)
    history.extend(rows)
    if ckpt and start and start > history.resumed_after:  # continued: this run's own resume point from the start
        _save_resume(ckpt, key, model, opt, sched, start, history)
    data, labels = _on_device(inputs, device), _on_device(targets, device)
    progress = Progress("training", (cfg.epochs - start) * min(n, steps * cfg.batch_size), cfg.progress_s)
    for epoch in range(start + 1, cfg.epochs + 1):
        model.train()
        g = epoch_generator(cfg.seed, epoch, device)
        perm = torch.randperm(n, generator=g, device=device)
        t0 = time.perf_counter()
        total, correct, seen = 0.0, 0, 0
        for step in range(steps):
            idx = perm[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            clean = to_float(_take(data, idx, device))
            x = corrupt(clean, g) if corrupt is not None else clean
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
                out = model(x.contiguous(memory_format=fmt) if x.dim() == 4 else x)
            out = out.float()
            if cfg.loss == "mse":
                loss = F.mse_loss(out, clean)
            else:
                y = _take(labels, idx, device).long()
                loss = F.cross_entropy(out, y)
                correct += int((out.argmax(1) == y).sum())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            progress.update(len(idx), f"epoch {epoch}/{cfg.epochs}")
        seconds = time.perf_counter() - t0
        mean_loss = total / seen
        if not math.isfinite(mean_loss):
            raise TrainingError(f"epoch {epoch}: loss is {mean_loss} (diverged); lower the learning rate")
        row = {"epoch": epoch, "loss": mean_loss, "seconds": seconds, "samples_per_s": seen / seconds}
        if cfg.loss == "ce":
            row["accuracy"] = correct / seen
        if flops_per_sample:
            row["gflops"] = flops_per_sample * seen / seconds / 1e9
        history.append(row)
        log.info(
            "epoch %d/%d loss %.6f%s %.2f s %.0f samples/s%s, about %s left",
            epoch,
            cfg.epochs,
            mean_loss,
            f" accuracy {row['accuracy']:.4f} (on the training batches as transformed)" if cfg.loss == "ce" else "",
            seconds,
            row["samples_per_s"],
            f" {row['gflops']:.1f} GFLOP/s" if flops_per_sample else "",
            progress.left() if epoch < cfg.epochs else "0 s",
        )
        if ckpt:
            _save_resume(ckpt, key, model, opt, sched, epoch, history)
    if cfg.bn_recalibrate:
        recalibrate_batchnorm(model, inputs, cfg.precision, device=device)
    model.eval()
    return history


def _batches(inputs: torch.Tensor, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    """Float batches of ``inputs`` in order, each moved to ``device`` on its own."""
    for i in range(0, len(inputs), batch_size):
        yield to_float(inputs[i : i + batch_size].to(device))


@torch.no_grad()
def recalibrate_batchnorm(
    model: nn.Module,
    inputs: torch.Tensor,
    precision: str = "fp32",
    batch_size: int = 1024,
    device: torch.device | str = "cpu",
) -> None:
    """Replace the batch-norm running statistics by those of ``inputs`` as they are (one pass,
    exact average over the batches, no weight changes; a last batch of one image is skipped).

    A network trained on augmented images saw statistics that differ from the plain ones it
    then predicts (bilinear resampling smooths pixel noise, shifts move mass to the border):
    on synthetic shapes with grey-level noise the self-labeling CNN fitted its (clean) labels
    on 100 % of the augmented images in train mode but only 84-90 % of the plain images in
    eval mode, 100 % after this pass (3 seeds). Labels play no part."""
    device = torch.device(device)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    fmt = _memory_format(model)
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the pass
    model.train()
    for x in _batches(inputs, batch_size, device):
        if len(x) < 2:
            continue
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            model(x.contiguous(memory_format=fmt) if x.dim() == 4 else x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.eval()


@torch.no_grad()
def predict(
    model: nn.Module,
    inputs: torch.Tensor,
    fn: str | Callable = "forward",
    batch_size: int = 1024,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Run ``model.<fn>`` (forward, encode, ...; or a callable of the batch) over ``inputs``
    in eval mode, one batch at a time; CPU float result (a tuple when ``fn`` returns one).
    ``precision='bf16'``: under bfloat16 autocast."""
    device = torch.device(device)
    fmt = _memory_format(model)
    model.to(device=device, memory_format=fmt).eval()
    call = getattr(model, fn) if isinstance(fn, str) else fn
    outs: list = []
    progress = Progress("predicting", len(inputs))
    for x in _batches(inputs, batch_size, device):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = call(x.contiguous(memory_format=fmt) if x.dim() == 4 else x)
        outs.append(tuple(o.float().cpu() for o in out) if isinstance(out, tuple) else out.float().cpu())
        progress.update(len(x))
    if outs and isinstance(outs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outs))
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
