"""Seeds, devices, threads and logging: the run-time settings every step shares."""

from __future__ import annotations

import logging
import os
import random
import sys

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config device: 'cuda' was asked for but torch.cuda.is_available() is False; use 'auto' or 'cpu'")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"config device: expected auto, cpu or cuda, got {device!r}")
    return torch.device(device)


def set_threads(threads: int) -> None:
    """Make torch and the BLAS/OpenMP pools of NumPy/scikit-learn use ``threads`` cores."""
    threads = max(1, int(threads))
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    os.environ["OMP_NUM_THREADS"] = str(threads)


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


def script_setup(smk) -> logging.Logger:
    """For workflow scripts: log to ``snakemake.log[0]`` and honour ``snakemake.threads``."""
    log = setup_logging(smk.log[0] if len(smk.log) else None)
    set_threads(smk.threads)
    log.info("rule %s, %d thread(s)", smk.rule, smk.threads)
    return log
