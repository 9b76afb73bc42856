#!/usr/bin/env python
"""Choose the de-noiser's architecture, learning rate and epochs on a validation split of
the TRAINING subset, never on the held-out images the workflow reports.

    python bench/select_denoiser.py [--mirror DIR] [--rates 0.2 0.7] [--epochs 5]

The training subset is drawn exactly as the workflow draws replicate 0's (config/config.yaml:
``subsets``), from the MNIST files of a local mirror. A stratified fifth of it is held back
for validation (seeded); each candidate trains on the rest through ``aeclust.train.fit``
(the workflow's loop, in ``denoise.precision``) and is scored after every epoch on the
validation images with fresh noise: PSNR of the de-noised output, and its gain over a 3x3
median filter of the same noisy images. The targets the study's de-noisers must meet on the
held-out images: >= 3 dB above the median at every rate, >= 16 dB at p = 0.7. The table
prints one row per candidate, rate and epoch, with its training seconds; the verdict picks
the cheapest candidate (training seconds over the rates) that meets both targets at every
rate with a margin (``--margin``, default 0.5 dB), as the held-out images differ.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))  # the library (not installed)
from aeclust.runtime import openmp_env  # noqa: E402

openmp_env()  # as the workflow's jobs run; before torch loads OpenMP
import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from aeclust.idx import read_images_labels  # noqa: E402
from aeclust.models import build_model  # noqa: E402
from aeclust.noise import corrupter, noisy_images  # noqa: E402
from aeclust.runtime import resolve_precision, set_seed, set_threads  # noqa: E402
from aeclust.subsets import SubsetSpec, draw_seed, make_subsets, stratified_indices  # noqa: E402
from aeclust.train import FitConfig, fit, predict, to_float  # noqa: E402
from scipy.ndimage import median_filter  # noqa: E402

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# de-noiser widths tried (channels at 28x28, 14x14, 7x7): the study's and narrower ones
WIDTHS = ["16-32-64", "12-24-48", "8-16-32"]


def training_subset(mirror: Path, cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """Replicate 0's training subset, drawn as make_subsets draws it."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name in FILES:
            out = Path(tmp) / name
            out.write_bytes(gzip.decompress((mirror / f"{name}.gz").read_bytes()))
            paths.append(out)
        tr_img, tr_lab = read_images_labels(paths[0], paths[1])
        te_img, te_lab = read_images_labels(paths[2], paths[3])
    images, labels = np.concatenate([tr_img, te_img]), np.concatenate([tr_lab, te_lab])
    s = cfg["subsets"]
    spec = {k: SubsetSpec(s[k]["split"], s[k]["per_class"]) for k in ("cluster", "train")}
    drawn = make_subsets(
        images,
        labels,
        len(tr_lab),
        spec["cluster"],
        spec["train"],
        draw_seed(s["seed"], 0, s["per_replicate"]),
        s["train"]["exclude_cluster"],
    )
    return images[drawn["train"]], labels[drawn["train"]]


def psnr(clean: np.ndarray, other: np.ndarray) -> float:
    """Mean over images of PSNR (dB, data range 1), as the workflow scores (scikit-image's formula)."""
    mse = ((clean.astype(np.float64) - other) ** 2).reshape(len(clean), -1).mean(1)
    return float(np.mean(10 * np.log10(1.0 / np.maximum(mse, 1e-12))))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--mirror",
        type=Path,
        default=Path(os.environ.get("AECLUST_MIRROR") or REPO.parent / "shared" / "data" / "mnist"),
    )
    ap.add_argument("--rates", type=float, nargs="+", default=[0.2, 0.7], help="the extremes of the study's rates")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument(
        "--widths", nargs="+", default=WIDTHS, help=f"ConvDenoiser channels tried (default {' '.join(WIDTHS)})"
    )
    ap.add_argument("--lrs", type=float, nargs="+", default=[0.001, 0.002, 0.004])
    ap.add_argument("--val-fraction", type=float, default=0.2)
    ap.add_argument("--margin", type=float, default=0.5, help="dB above both targets a choice must keep on validation")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    set_threads(args.threads, network=True)
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    dn = cfg["denoise"]
    precision = resolve_precision(dn.get("precision", "fp32"), torch.device("cpu"), key="denoise.precision")
    images, labels = training_subset(args.mirror, cfg)
    per_class = int(round(args.val_fraction * len(labels) / 10))
    val_idx = stratified_indices(labels, np.arange(len(labels)), per_class, np.random.default_rng(1234), "validation")
    fit_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    train_t, val_t = torch.from_numpy(images[fit_idx]), torch.from_numpy(images[val_idx])
    clean = to_float(val_t).numpy()[:, 0]
    print(
        f"training subset {len(labels)} images: fit on {len(fit_idx)}, validate on {len(val_idx)} ({per_class} per digit); "
        f"{precision}, batch {dn['batch_size']}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}"
    )
    noisy = {r: noisy_images(val_t, r, args.seed + 1000) for r in args.rates}  # validation noise: its own stream
    median = {r: psnr(clean, median_filter(noisy[r].numpy()[:, 0], size=(1, 3, 3))) for r in args.rates}
    print("3x3 median on the validation images: " + ", ".join(f"p={r:g} {median[r]:.2f} dB" for r in args.rates))
    print("\n| candidate | lr | p | epoch | PSNR dB | over median dB | train s |\n|---|---:|---:|---:|---:|---:|---:|")
    results = {}
    candidates = [
        (f"denoiser {w}", {"kind": "autoencoder", "arch": "denoiser", "channels": [int(c) for c in w.split("-")]})
        for w in args.widths
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for label, settings in candidates:
            for lr in args.lrs:
                for rate in args.rates:
                    set_seed(args.seed)
                    model, seconds = build_model(settings), 0.0
                    ck = Path(tmp) / f"{label}_{lr}_{rate}.state".replace(" ", "_")
                    key = {**settings, "rate": rate, "lr": lr}
                    for epoch in range(
                        1, args.epochs + 1
                    ):  # one epoch at a time, continuing its state: scored after each
                        t0 = time.perf_counter()
                        fit(
                            model,
                            train_t,
                            FitConfig(
                                epoch,
                                dn["batch_size"],
                                lr,
                                args.seed,
                                precision=precision,
                                checkpoint=ck,
                                resume_key=key,
                            ),
                            corrupt=corrupter(rate),
                        )
                        seconds += time.perf_counter() - t0
                        p = psnr(clean, predict(model, noisy[rate]).numpy()[:, 0])
                        results[(label, lr, rate, epoch)] = (p, p - median[rate], seconds)
                        print(
                            f"| {label} | {lr:g} | {rate:g} | {epoch} | {p:.2f} | {p - median[rate]:+.2f} | {seconds:.1f} |",
                            flush=True,
                        )
    ok = []
    for label, _ in candidates:
        for lr in args.lrs:
            for epoch in range(1, args.epochs + 1):
                rows = [results[(label, lr, r, epoch)] for r in args.rates]
                gain_ok = all(g >= 3 + args.margin for _, g, _ in rows)
                high_ok = all(p >= 16 + args.margin for (p, _, _), r in zip(rows, args.rates) if r >= 0.7)
                if gain_ok and high_ok:
                    ok.append((sum(s for _, _, s in rows), label, lr, epoch, min(g for _, g, _ in rows)))
    print()
    if not ok:
        print("no candidate meets both targets with the margin on the validation split")
        return 1
    for cost, label, lr, epoch, gain in sorted(ok)[:5]:
        print(
            f"meets the targets: {label}, lr {lr:g}, {epoch} epochs: {cost:.1f} s over the rates, smallest gain {gain:+.2f} dB"
        )
    cost, label, lr, epoch, _ = min(ok)
    print(f"\nchoice (cheapest that meets both targets + {args.margin:g} dB): {label}, lr {lr:g}, {epoch} epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
