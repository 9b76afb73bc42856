"""Seeds, devices, threads and logging: the run-time settings every step shares.

Importing this module does not import torch: steps that run no network (K-Means, PCA,
plots, tables) stay free of its start-up cost. The functions about devices import it.
"""

from __future__ import annotations

import logging
import os
import random
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and, where the job has loaded it, torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def openmp_env(env=os.environ) -> None:
    """OpenMP's waiting policy for this job, set before torch loads libgomp (it reads it once).

    OpenMP threads that spin while they wait (libgomp's default) starve each other when
    other processes share the cores; threads that sleep at once (OMP_WAIT_POLICY=PASSIVE)
    pay a wake-up on each of the ~100 operations of a training step. A short spin is both:
    measured on 2 cores, N2D's MLP autoencoder (batch 256) alone: 181 GFLOP/s spinning,
    128 passive, 148 with GOMP_SPINCOUNT=3000; two trainings at once on the 2 cores
    (samples/s each): 1,400 spinning (collapse), 4,440 passive, 3,810 short spin. libgomp
    reads GOMP_SPINCOUNT (other OpenMP runtimes ignore it); the environment wins. Set per
    job, in the job's own process: nothing leaks into a host workflow.
    """
    if "OMP_WAIT_POLICY" not in env:
        env.setdefault("GOMP_SPINCOUNT", "3000")


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "config device: 'cuda' was asked for but torch.cuda.is_available() is False; use 'auto' or 'cpu'"
        )
    if device not in ("cpu", "cuda"):
        raise ValueError(f"config device: expected auto, cpu or cuda, got {device!r}")
    if device == "cuda":
        deterministic_cuda()
    return torch.device(device)


def resolve_precision(precision: str, device: torch.device, key: str = "autoencoder.precision") -> str:
    """``auto`` -> ``bf16`` where the hardware multiplies bfloat16 natively, else ``fp32``.

    Native: a CUDA GPU with bf16 support, or a CPU with AMX or AVX-512 BF16 (there
    oneDNN's bf16 matrix multiply is several times the float32 rate; elsewhere bf16 is
    emulated and slower than float32).
    """
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"config {key}: expected auto, fp32 or bf16, got {precision!r}")
    if precision != "auto":
        return precision
    import torch

    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    native = (
        getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
        or getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    )
    return "bf16" if native else "fp32"


def deterministic_cuda() -> None:
    """Reproducible CUDA runs: deterministic cuDNN/cuBLAS kernels instead of the fastest.

    By default cuDNN picks convolution algorithms by timing (``benchmark``) and some of
    them sum in a varying order, so two GPU runs differ in the last bits, and so can
    the clusters. This costs a little speed; CPU runs are deterministic anyway.
    """
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)


def machine_cores() -> int:
    """The cores this process may run on (its CPU affinity; the CPU count where that is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def set_threads(threads: int, network: bool = False) -> int:
    """Make torch and the BLAS/OpenMP pools of NumPy/scikit-learn use ``threads`` cores; returns that number.

    At most :func:`machine_cores`: more OpenMP threads than cores wait on each other at
    every one of a training step's ~100 operations.

    ``network``: the job runs torch, which is imported here, after OpenMP's settings
    (:func:`openmp_env`, ``OMP_NUM_THREADS``) are in the environment. Also flushes
    denormal floats to zero. That flag is per thread and OpenMP's worker threads copy it
    from the main thread when they are made, so it is set here, before torch's first
    parallel operation makes them: set later (once the pool exists) it reaches the main
    thread alone. Why: see :func:`aeclust.train.fit`.
    """
    threads = max(1, min(int(threads), machine_cores()))
    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch = sys.modules.get("torch")
    if network and torch is None:
        import torch
    if torch is not None:
        torch.set_flush_denormal(True)
        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    return threads


def setup_logging(log_path: str | None = None) -> logging.Logger:
    """Log to ``log_path`` (and send stderr there too), or to stderr when None."""
    logger = logging.getLogger("aeclust")
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if log_path:
        stream = open(log_path, "a", buffering=1)
        sys.stderr = stream
        handler: logging.Handler = logging.StreamHandler(stream)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    logger.addHandler(handler)
    return logger


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and message, detail lines joined with '; '."""
    lines = [ln.strip().lstrip("- ").strip() for ln in str(exc).splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        return type(exc).__name__
    text = lines[0].rstrip(":")
    if len(lines) > 1:  # e.g. DownloadError: one line per mirror
        text += ": " + "; ".join(lines[1:])
    return f"{type(exc).__name__}: {text}"


def _log_uncaught(rule: str, log: logging.Logger):
    """An excepthook: the error as one clear line first; a traceback only for unforeseen errors.

    aeclust's own errors (IdxError, DownloadError, CheckpointError, TrainingError, ...)
    already name the file or setting and what was expected, so their traceback is noise.
    """

    def hook(exc_type, exc, tb):
        log.error("rule %s failed: %s", rule, one_line(exc))
        if not exc_type.__module__.startswith("aeclust"):
            sys.__excepthook__(exc_type, exc, tb)

    return hook


def script_setup(smk, network: bool = False) -> logging.Logger:
    """For workflow scripts: log to ``snakemake.log[0]`` and honour ``snakemake.threads``.

    Call it before anything imports torch: OpenMP reads its settings when torch loads.
    ``network``: the job trains or runs a network (torch is loaded here, configured).

    An uncaught error is logged as one line (``rule R failed: Type: message``) first.
    """
    openmp_env()
    log = setup_logging(smk.log[0] if len(smk.log) else None)
    sys.excepthook = _log_uncaught(smk.rule, log)
    threads = set_threads(smk.threads, network=network)
    log.info("rule %s, %d thread(s)", smk.rule, threads)
    return log
