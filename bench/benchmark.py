#!/usr/bin/env python
"""How fast aeclust is on this machine: measured in one run, printed as one table and
appended to a CSV so that successive runs (commits, machines) can be compared.

    python bench/benchmark.py --quick     # ~1-2 min on 2 cores: tiny config (CI runs this)
    python bench/benchmark.py             # + the default config end to end (several minutes)
    python bench/benchmark.py --full      # + config/full.yaml end to end (~45 min)

What it measures (docs/performance.md explains each number):
- the float32 matrix-multiply rate of this machine (GFLOP/s), the yardstick;
- autoencoder training samples/s and achieved GFLOP/s per architecture (the study's
  conv and mlp, N2D's 784-500-500-2000-10 mlp), and their ratio to the yardstick;
  where bfloat16 is native (``precision: auto`` picks it, as config/full.yaml does), also
  the bfloat16 matmul rate and N2D's mlp trained under bf16 autocast;
- wall time of whole workflow runs (the download is done first and not timed), and of a
  no-op rerun when everything is up to date (target: under 3 s);
- how many jobs a dry run schedules after changing only pca.components (must be only
  PCA and what depends on it).

The machine is often shared: the load average is recorded with every run, and ratios
measured in the same run mean more than any one absolute time.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))  # the library of this checkout (not installed)
from aeclust.runtime import openmp_env  # noqa: E402

openmp_env()  # the OpenMP waiting the workflow's jobs get (runtime.script_setup), before torch loads

import torch  # noqa: E402
import yaml  # noqa: E402

from aeclust.models import build_model  # noqa: E402
from aeclust.runtime import resolve_device, resolve_precision, set_seed  # noqa: E402
from aeclust.train import FitConfig, fit, flops_per_sample  # noqa: E402

DEFAULT_CSV = REPO / "bench" / "out" / "benchmark.csv"
CONFIG = REPO / "config"
NOOP_TARGET_S = 3.0
N2D = {"kind": "autoencoder", "arch": "mlp", "mlp_dims": [500, 500, 2000], "latent": 10}
CSV_FIELDS = ["run", "mode", "commit", "host", "cpu", "cores", "threads", "device", "load_start", "load_end",
              "section", "metric", "value", "unit", "note"]


# ---------------------------------------------------------------------------- kernels


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(n: int, reps: int, device: torch.device, min_seconds: float = 0.2, dtype: torch.dtype = torch.float32) -> float:
    """Median rate of n x n x n matrix multiplies (2 n^3 FLOPs each), float32 unless ``dtype``.

    Each of ``reps`` samples repeats the multiply for at least ``min_seconds``, so that a
    moment of contention on a shared machine moves one sample, not the answer.
    """
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(n, n, generator=g).to(device=device, dtype=dtype) for _ in range(2))
    torch.mm(a, b)  # warm-up: thread pool, caches, kernels
    _sync(device)
    rates = []
    for _ in range(reps):
        count, t0 = 0, time.perf_counter()
        while True:
            torch.mm(a, b)
            count += 1
            _sync(device)
            elapsed = time.perf_counter() - t0
            if elapsed >= min_seconds:
                break
        rates.append(2 * n**3 * count / elapsed / 1e9)
    return statistics.median(rates)


def autoencoders() -> list[tuple[str, dict, int]]:
    """(label, settings, batch size): the study's conv and mlp from config.yaml, and N2D's."""
    ae = yaml.safe_load((CONFIG / "config.yaml").read_text())["autoencoder"]
    conv = {"kind": "autoencoder", "arch": "conv", **({"channels": ae["channels"]} if "channels" in ae else {})}
    mlp = {"kind": "autoencoder", "arch": "mlp", "mlp_dims": ae["mlp_dims"], "latent": ae["latent"]}
    conv_label = "conv " + "-".join(map(str, ae.get("channels", []))) if "channels" in ae else "conv"
    return [
        (conv_label.strip(), conv, ae["batch_size"]),
        ("mlp 784-" + "-".join(map(str, [*ae["mlp_dims"], ae["latent"]])), mlp, ae["batch_size"]),
        ("mlp 784-500-500-2000-10 (N2D)", N2D, 256),
    ]


def training_rate(settings: dict, n_images: int, batch_size: int, epochs: int, device: torch.device,
                  precision: str = "fp32") -> tuple[float, float]:
    """(samples/s, GFLOP/s) of autoencoder training: median over the epochs after the first.

    Synthetic uint8 images: the speed of these networks does not depend on pixel values.
    """
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n_images, 28, 28), dtype=torch.uint8, generator=g)
    set_seed(0)
    flops = flops_per_sample(build_model(settings), images)
    model = build_model(settings)
    history = fit(model, images, FitConfig(epochs, batch_size, 1e-3, 0, precision=precision), device=device)
    rate = statistics.median(h["samples_per_s"] for h in (history[1:] or history))
    return rate, rate * flops / 1e9


# ---------------------------------------------------------------------------- workflow


def _snakemake(workdir: Path, configfiles: list[Path], *args: str, mirror: str | None) -> tuple[float, subprocess.CompletedProcess]:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir)]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    env = {**os.environ, **({"AECLUST_MIRROR": mirror} if mirror else {})}
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, proc


def _merged_config(configfiles: list[Path]) -> dict:
    """config.yaml with the overlays applied (one level deep is all this script needs)."""
    cfg = yaml.safe_load((CONFIG / "config.yaml").read_text())
    for f in configfiles:
        for k, v in (yaml.safe_load(Path(f).read_text()) or {}).items():
            cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else v
    return cfg


def _jobs_done(proc: subprocess.CompletedProcess) -> int:
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", proc.stderr + proc.stdout)
    return int(done[-1][1]) if done else 0


def run_end_to_end(name: str, configfiles: list[Path], workdir: Path, cores: int, mirror: str | None) -> list[dict]:
    """Download (not timed), then the whole DAG (timed), then no-op reruns (timed)."""
    cfg = _merged_config(configfiles)
    data = [f"data/{cfg['dataset']}/{f}" for f in cfg["datasets"][cfg["dataset"]]["files"].values()]
    c = ["--cores", str(cores)]
    _snakemake(workdir, configfiles, *c, *data, mirror=mirror)
    seconds, proc = _snakemake(workdir, configfiles, *c, mirror=mirror)
    rows = [_row("workflow", f"{name}: end to end, download excluded", seconds, "s", f"{_jobs_done(proc)} jobs, --cores {cores}")]
    noop = []
    for _ in range(3):
        s, proc = _snakemake(workdir, configfiles, *c, mirror=mirror)
        if "Nothing to be done" not in proc.stdout + proc.stderr:
            raise RuntimeError(f"{name}: the rerun was not a no-op:\n{proc.stderr[-2000:]}")
        noop.append(s)
    ok = "ok" if statistics.median(noop) < NOOP_TARGET_S else "SLOW"
    rows.append(_row("workflow", f"{name}: no-op rerun (median of 3)", statistics.median(noop), "s",
                     f"target < {NOOP_TARGET_S:g} s: {ok}"))
    return rows


def _rulegraph_descendants(workdir: Path, configfiles: list[Path], rule: str, mirror: str | None) -> set[str]:
    _, proc = _snakemake(workdir, configfiles, "--rulegraph", mirror=mirror)
    names = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', proc.stdout, re.M))
    edges = [(names[a], names[b]) for a, b in re.findall(r"^\s*(\d+) -> (\d+)", proc.stdout, re.M)]
    found, todo = set(), [rule]
    while todo:
        r = todo.pop()
        for a, b in edges:
            if a == r and b not in found:
                found.add(b)
                todo.append(b)
    return found


def pca_change_jobs(name: str, configfiles: list[Path], workdir: Path, mirror: str | None) -> list[dict]:
    """Dry run after changing only pca.components: which jobs would run?"""
    cfg = _merged_config(configfiles)
    old = cfg["pca"]["components"]
    new = old // 2 if old > 1 else old + 1
    extra = workdir / f"pca_change_{name}.yaml"
    extra.write_text(f"pca: {{components: {new}}}\n")
    _, proc = _snakemake(workdir, [*configfiles, extra], "-n", mirror=mirror)
    jobs = re.findall(r"^(?:local)?rule (\w+):", proc.stdout, re.M)
    counts = {r: jobs.count(r) for r in dict.fromkeys(jobs)}
    allowed = {"reduce_pca"} | _rulegraph_descendants(workdir, configfiles, "reduce_pca", mirror)
    outside = sorted(set(counts) - allowed)
    verdict = "only PCA and its dependents: " + ("yes" if not outside else f"NO, also {', '.join(outside)}")
    detail = ", ".join(f"{r} {n}" for r, n in counts.items())
    return [_row("workflow", f"{name}: jobs after pca.components {old} -> {new} (dry run)", len(jobs), "jobs",
                 f"{detail or 'none'}; {verdict}")]


# ---------------------------------------------------------------------------- output


def _row(section: str, metric: str, value: float, unit: str, note: str = "") -> dict:
    return {"section": section, "metric": metric, "value": value, "unit": unit, "note": note}


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


def print_table(rows: list[dict], header: dict) -> None:
    print(" | ".join(f"{k}: {v}" for k, v in header.items()))
    cols = ["metric", "value", "unit", "note"]
    cells = [[r["metric"], _fmt(r["value"]), r["unit"], r["note"]] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) if i != 1 else v.rjust(w) for i, (v, w) in enumerate(zip(vals, widths))) + " |"  # noqa: E731
    print(line(cols))
    print("|" + "|".join("-" * (w + 1) + (":" if i == 1 else "-") for i, w in enumerate(widths)) + "|")
    for c in cells:
        print(line(c))


def append_csv(path: Path, rows: list[dict], header: dict) -> None:
    """Append one run's rows (long format: one metric a row); the header line only once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({**header, **r, "value": f"{r['value']:.6g}"})


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
        commit += "+dirty" if dirty.strip() else ""
    except OSError:
        commit = ""
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "commit": commit}


def _load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return ""


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny config and small kernels only (~1-2 min; CI)")
    ap.add_argument("--full", action="store_true", help="also run config/full.yaml end to end (~45 min on 2 cores)")
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV, help=f"append results here (default {DEFAULT_CSV.relative_to(REPO)})")
    ap.add_argument("--workdir", type=Path, help="run the workflows here (default: a temporary folder, removed after)")
    ap.add_argument("--cores", type=int, default=os.cpu_count(), help="snakemake --cores (default: all)")
    ap.add_argument("--threads", type=int, default=2, help="threads of the kernel measurements (default 2: the training rules' threads)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the kernels run (the workflow picks its own)")
    ap.add_argument("--mirror", default=os.environ.get("AECLUST_MIRROR") or str(REPO.parent / "shared" / "data" / "mnist"),
                    help="local MNIST mirror (default: $AECLUST_MIRROR, else ../shared/data/mnist)")
    ap.add_argument("--no-workflow", action="store_true", help="kernels only: skip every snakemake run")
    args = ap.parse_args(argv)

    mode = "quick" if args.quick else "full" if args.full else "default"
    device = resolve_device(args.device)  # as the workflow does: deterministic kernels on CUDA
    torch.set_num_threads(args.threads)
    mirror = args.mirror if Path(args.mirror).is_dir() or "://" in args.mirror else None
    info = machine()
    header = {"run": dt.datetime.now().isoformat(timespec="seconds"), "mode": mode, **info, "threads": args.threads,
              "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device), "load_start": _load()}

    rows: list[dict] = []
    n, reps = (1024, 5) if args.quick else (2048, 15)
    peak = matmul_gflops(n, reps, device)
    rows.append(_row("kernels", f"float32 matmul {n}x{n}", peak, "GFLOP/s", f"{args.threads} threads, median of {reps} x 0.2 s"))
    n_images, epochs = (256, 2) if args.quick else (4096, 3)
    for label, settings, batch in autoencoders():
        rate, gflops = training_rate(settings, n_images, batch, epochs, device)
        note = f"batch {batch}, {n_images} images, " + (f"median of epochs 2-{epochs}" if epochs > 2 else "epoch 2")
        rows.append(_row("kernels", f"train {label}", rate, "samples/s", note))
        rows.append(_row("kernels", f"train {label}", gflops, "GFLOP/s", f"{100 * gflops / peak:.1f} % of the matmul rate"))
    if resolve_precision("auto", device) == "bf16":  # what config/full.yaml's precision: auto trains in here
        peak16 = matmul_gflops(n, reps, device, dtype=torch.bfloat16)
        rows.append(_row("kernels", f"bfloat16 matmul {n}x{n}", peak16, "GFLOP/s", f"{args.threads} threads, median of {reps} x 0.2 s"))
        label, settings, batch = autoencoders()[-1]  # N2D's, as config/full.yaml trains it
        rate, gflops = training_rate(settings, n_images, batch, epochs, device, precision="bf16")
        label = f"train {label}, bf16 autocast"
        rows.append(_row("kernels", label, rate, "samples/s", f"batch {batch}, {n_images} images"))
        rows.append(_row("kernels", label, gflops, "GFLOP/s",
                         f"{100 * gflops / peak:.1f} % of the float32, {100 * gflops / peak16:.1f} % of the bfloat16 matmul rate"))

    if not args.no_workflow:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aeclust-bench-"))
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            runs = [("tiny", [CONFIG / "tiny.yaml"])]
            if not args.quick:
                runs.append(("default", []))
            if args.full:
                if (CONFIG / "full.yaml").exists():
                    runs.append(("full", [CONFIG / "full.yaml"]))
                else:
                    print("--full: config/full.yaml does not exist; skipped", file=sys.stderr)
            for name, files in runs:
                print(f"[benchmark] {name}: end to end in {workdir} ...", file=sys.stderr, flush=True)
                rows += run_end_to_end(name, files, workdir, args.cores, mirror)
                rows += pca_change_jobs(name, files, workdir, mirror)
        finally:
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)

    header["load_end"] = _load()
    print_table(rows, {k: header[k] for k in ("run", "mode", "commit", "cpu", "cores", "threads", "device", "load_start", "load_end")})
    append_csv(args.csv, rows, header)
    print(f"\nappended {len(rows)} rows to {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
