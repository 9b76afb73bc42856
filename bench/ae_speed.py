"""Autoencoder training speed against the machine's float32 matrix-multiply rate,
both measured in this one process, alternating, so that a shared machine's load
hits both alike.

    python bench/ae_speed.py [--data results/mnist/full/subsets/train_s0.npz] [--epochs 3]

Trains the autoencoder of config/full.yaml (same settings and precision, fit() as the
workflow runs it) and prints, per epoch, samples/s and GFLOP/s beside the torch.mm rate
measured just before and after it, and their ratio. FLOPs are counted on a real
training step (forward + backward matrix products), not estimated.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))  # the library (not installed)
from aeclust.runtime import openmp_env  # noqa: E402

openmp_env()  # as the workflow's jobs run; before torch loads OpenMP
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402
from aeclust.io import load_npz  # noqa: E402
from aeclust.models import build_model  # noqa: E402
from aeclust.runtime import resolve_precision, set_seed, set_threads  # noqa: E402
from aeclust.train import FitConfig, fit, flops_per_sample, to_float  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def matmul_gflops(n: int = 2048, seconds: float = 2.0) -> float:
    """float32 torch.mm rate (GFLOP/s) of n x n products, over about ``seconds``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def training_flops(model: torch.nn.Module, batch: torch.Tensor) -> float:
    """FLOPs of one training step per sample: matrix products of forward + backward."""
    x = to_float(batch)
    with FlopCounterMode(display=False) as counter:
        F.mse_loss(model(x), x).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / len(batch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO / "results/mnist/full/subsets/train_s0.npz"))
    ap.add_argument("--config", default=str(REPO / "config/full.yaml"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, help="default: the config's")
    ap.add_argument("--precision", choices=["fp32", "bf16", "auto"], help="default: the config's")
    args = ap.parse_args()

    set_threads(args.threads)
    ae = yaml.safe_load(Path(args.config).read_text())["autoencoder"]
    settings = {"kind": "autoencoder", "arch": ae["arch"], "mlp_dims": ae["mlp_dims"], "latent": ae["latent"]}
    batch_size = args.batch_size or ae["batch_size"]
    precision = resolve_precision(args.precision or ae.get("precision", "fp32"), torch.device("cpu"))
    images = torch.from_numpy(load_npz(args.data)["images"])
    set_seed(0)
    model = build_model(settings)
    exact = training_flops(model, images[:batch_size])
    convention = flops_per_sample(build_model(settings), images)
    print(f"{settings}, batch {batch_size}, {precision}, {len(images)} images, {torch.get_num_threads()} threads")
    print(f"training MFLOP/sample: {exact / 1e6:.2f} counted (fit's 3x-forward estimate: {convention / 1e6:.2f})")

    rows, mm_before = [], matmul_gflops()
    for epoch in range(1, args.epochs + 1):
        cfg = FitConfig(epochs=1, batch_size=batch_size, lr=ae["lr"], seed=epoch, precision=precision)
        sps = fit(model, images, cfg)[-1]["samples_per_s"]
        mm_after = matmul_gflops()
        mm = (mm_before + mm_after) / 2
        gflops = sps * exact / 1e9
        rows.append((sps, gflops, mm, gflops / mm))
        print(
            f"epoch {epoch}: {sps:,.0f} samples/s, {gflops:.1f} GFLOP/s; torch.mm {mm_before:.1f} -> {mm_after:.1f} GFLOP/s; "
            f"ratio {gflops / mm:.2f}"
        )
        mm_before = mm_after
    med = [statistics.median(c) for c in zip(*rows)]
    print(f"median: {med[0]:,.0f} samples/s, {med[1]:.1f} GFLOP/s, torch.mm {med[2]:.1f} GFLOP/s, ratio {med[3]:.2f}")


if __name__ == "__main__":
    main()
