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
CSV_FIELDS = [
    "run",
    "mode",
    "commit",
    "host",
    "cpu",
    "cores",
    "threads",
    "device",
    "load_start",
    "load_end",
    "section",
    "metric",
    "value",
    "unit",
    "note",
]


# ---------------------------------------------------------------------------- kernels


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(
    n: int, reps: int, device: torch.device, min_seconds: float = 0.2, dtype: torch.dtype = torch.float32
) -> float:
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


def networks() -> list[tuple[str, dict, int, str, str, int]]:
    """(label, settings, batch size, precision, loss, threads) of every network the default
    config trains, in the precision and on the threads it trains with here (the rules'
    ``threads:``: the small conv networks and the classifier 1, two jobs at a time; an mlp
    autoencoder 2), then the study's mlp and N2D's (float32, as yardsticks)."""
    cfg = yaml.safe_load((CONFIG / "config.yaml").read_text())
    ae, dn, cl = cfg["autoencoder"], cfg["denoise"], cfg["classifier"]
    cpu = torch.device("cpu")
    conv = {"kind": "autoencoder", "arch": "conv", "channels": ae["channels"]}
    denoiser = {"kind": "autoencoder", "arch": dn["arch"], **({"channels": dn["channels"]} if "channels" in dn else {})}
    mlp = {"kind": "autoencoder", "arch": "mlp", "mlp_dims": ae["mlp_dims"], "latent": ae["latent"]}
    classifier = {"kind": "classifier", "hidden": cl["hidden"]}
    ae_prec = resolve_precision(ae.get("precision", "fp32"), cpu)
    dn_prec = resolve_precision(dn.get("precision", "fp32"), cpu, key="denoise.precision")
    dn_label = dn["arch"] + (" " + "-".join(map(str, dn["channels"])) if "channels" in dn else "")
    return [
        (
            "conv " + "-".join(map(str, ae["channels"])) + " (study autoencoder)",
            conv,
            ae["batch_size"],
            ae_prec,
            "mse",
            1,
        ),
        (f"{dn_label} (de-noiser)", denoiser, dn["batch_size"], dn_prec, "mse", 1),
        ("classifier 784-" + "-".join(map(str, [*cl["hidden"], 10])), classifier, cl["batch_size"], "fp32", "ce", 1),
        ("mlp 784-" + "-".join(map(str, [*ae["mlp_dims"], ae["latent"]])), mlp, ae["batch_size"], "fp32", "mse", 2),
        ("mlp 784-500-500-2000-10 (N2D)", N2D, 256, "fp32", "mse", 2),
    ]


def training_rate(
    settings: dict,
    n_images: int,
    batch_size: int,
    epochs: int,
    device: torch.device,
    precision: str = "fp32",
    loss: str = "mse",
) -> tuple[float, float]:
    """(samples/s, GFLOP/s) of training through fit(): median over the epochs after the first.

    Synthetic uint8 images: the speed of these networks does not depend on pixel values.
    """
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n_images, 28, 28), dtype=torch.uint8, generator=g)
    targets = torch.randint(0, 10, (n_images,), generator=g) if loss == "ce" else None
    set_seed(0)
    flops = flops_per_sample(build_model(settings), images)
    model = build_model(settings)
    cfg = FitConfig(
        epochs, batch_size, 1e-3, 0, loss=loss, optimizer="adam" if loss == "mse" else "sgd", precision=precision
    )
    history = fit(model, images, cfg, targets=targets, device=device)
    rate = statistics.median(h["samples_per_s"] for h in (history[1:] or history))
    return rate, rate * flops / 1e9


# ---------------------------------------------------------------------------- where the time went


def job_records(workdir: Path) -> list[dict]:
    """One record per job of the workflow run in ``workdir``, from Snakemake's metadata
    (.snakemake/metadata: one file per output, with its rule, inputs, start and end time)."""
    import base64
    import json

    jobs: dict = {}
    root = workdir / ".snakemake" / "metadata"
    for f in root.rglob("*"):
        if not f.is_file():
            continue
        try:
            meta = json.loads(f.read_text())  # long names are split into folders named @<chunk>
            output = base64.urlsafe_b64decode("".join(p.lstrip("@") for p in f.relative_to(root).parts)).decode()
        except (ValueError, OSError):
            continue
        if meta.get("starttime") is None or meta.get("endtime") is None:
            continue
        # the outputs of one job share its hash and end time (their start times differ by microseconds)
        key = (meta["rule"], meta.get("job_hash"), meta["endtime"])
        job = jobs.setdefault(
            key,
            {
                "rule": meta["rule"],
                "start": meta["starttime"],
                "end": meta["endtime"],
                "inputs": set(meta.get("input") or []),
                "outputs": set(),
            },
        )
        job["start"] = min(job["start"], meta["starttime"])
        job["outputs"].add(output)
    return sorted(jobs.values(), key=lambda j: j["start"])


def benchmark_seconds(workdir: Path) -> dict[str, list[float]]:
    """Per rule, the seconds in its benchmark files (``s`` column) under results/*/*/benchmarks."""
    out: dict[str, list[float]] = {}
    for tsv in workdir.glob("results/*/*/benchmarks/*/*.tsv"):
        with open(tsv) as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if rows and "s" in rows[0]:
            out.setdefault(tsv.parent.name, []).append(float(rows[0]["s"]))
    return out


def rule_table(jobs: list[dict], bench: dict[str, list[float]], since: float | None = None) -> list[tuple]:
    """(rule, jobs, job-seconds of wall time, benchmark seconds or None), most job-seconds first."""
    rows: dict[str, list] = {}
    for j in jobs:
        if since is not None and j["start"] < since:
            continue
        r = rows.setdefault(j["rule"], [0, 0.0])
        r[0] += 1
        r[1] += j["end"] - j["start"]
    table = [(rule, n, s, sum(bench[rule]) if rule in bench else None) for rule, (n, s) in rows.items()]
    return sorted(table, key=lambda t: -t[2])


def critical_path(jobs: list[dict], since: float | None = None) -> list[dict]:
    """The chain of jobs that decided the run's length: from the job that finished last,
    back through the input whose producer finished last, to a job that needed none of this run."""
    jobs = [j for j in jobs if since is None or j["start"] >= since]
    if not jobs:
        return []
    producer = {o: j for j in jobs for o in j["outputs"]}
    job, path = max(jobs, key=lambda j: j["end"]), []
    while job is not None:
        path.append(job)
        before = [producer[i] for i in job["inputs"] if i in producer and producer[i] is not job]
        job = max(before, key=lambda j: j["end"]) if before else None
    return path[::-1]


def time_report(workdir: Path, since: float | None = None) -> str:
    """Markdown: job-seconds per rule and the critical path of the run in ``workdir``."""
    jobs = job_records(workdir)
    table = rule_table(jobs, benchmark_seconds(workdir), since)
    lines = ["| rule | jobs | job-seconds (wall) | benchmark s |", "|---|---:|---:|---:|"]
    lines += [f"| {r} | {n} | {s:.1f} | {'-' if b is None else f'{b:.1f}'} |" for r, n, s, b in table]
    path = critical_path(jobs, since)
    if path:
        t0 = path[0]["start"]
        lines += [
            "",
            f"critical path: {len(path)} jobs, {path[-1]['end'] - t0:.1f} s from the first one's start",
            "",
            "| rule | starts at s | seconds | output |",
            "|---|---:|---:|---|",
        ]
        lines += [
            f"| {j['rule']} | {j['start'] - t0:.1f} | {j['end'] - j['start']:.1f} | {sorted(j['outputs'])[0]} |"
            for j in path
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- workflow


def _snakemake(
    workdir: Path, configfiles: list[Path], *args: str, mirror: str | None
) -> tuple[float, subprocess.CompletedProcess]:
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
    load, since = _load(), time.time()
    seconds, proc = _snakemake(workdir, configfiles, *c, mirror=mirror)
    rows = [
        _row(
            "workflow",
            f"{name}: end to end, download excluded",
            seconds,
            "s",
            f"{_jobs_done(proc)} jobs, --cores {cores}, load {load} -> {_load()}",
        )
    ]
    print(
        f"\n## {name}: where the time went ({seconds:.0f} s end to end)\n\n{time_report(workdir, since)}\n", flush=True
    )
    noop = []
    for _ in range(3):
        s, proc = _snakemake(workdir, configfiles, *c, mirror=mirror)
        if "Nothing to be done" not in proc.stdout + proc.stderr:
            raise RuntimeError(f"{name}: the rerun was not a no-op:\n{proc.stderr[-2000:]}")
        noop.append(s)
    ok = "ok" if statistics.median(noop) < NOOP_TARGET_S else "SLOW"
    rows.append(
        _row(
            "workflow",
            f"{name}: no-op rerun (median of 3)",
            statistics.median(noop),
            "s",
            f"target < {NOOP_TARGET_S:g} s: {ok}",
        )
    )
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
    return [
        _row(
            "workflow",
            f"{name}: jobs after pca.components {old} -> {new} (dry run)",
            len(jobs),
            "jobs",
            f"{detail or 'none'}; {verdict}",
        )
    ]


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

    def line(vals):
        return (
            "| " + " | ".join(v.ljust(w) if i != 1 else v.rjust(w) for i, (v, w) in enumerate(zip(vals, widths))) + " |"
        )

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
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout
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
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="tiny config and small kernels only (~1-2 min; CI)")
    ap.add_argument("--full", action="store_true", help="also run config/full.yaml end to end (~45 min on 2 cores)")
    ap.add_argument(
        "--csv", type=Path, default=DEFAULT_CSV, help=f"append results here (default {DEFAULT_CSV.relative_to(REPO)})"
    )
    ap.add_argument("--workdir", type=Path, help="run the workflows here (default: a temporary folder, removed after)")
    ap.add_argument("--cores", type=int, default=4, help="snakemake --cores (default 4, the README's quick start)")
    ap.add_argument(
        "--threads",
        type=int,
        help="threads of every kernel measurement (default: each network on the threads its rule trains it with)",
    )
    ap.add_argument(
        "--device", default="cpu", choices=["cpu", "cuda"], help="where the kernels run (the workflow picks its own)"
    )
    ap.add_argument(
        "--mirror",
        default=os.environ.get("AECLUST_MIRROR") or str(REPO.parent / "shared" / "data" / "mnist"),
        help="local MNIST mirror (default: $AECLUST_MIRROR, else ../shared/data/mnist)",
    )
    ap.add_argument("--no-workflow", action="store_true", help="kernels only: skip every snakemake run")
    ap.add_argument("--no-tiny", action="store_true", help="skip the tiny config's end-to-end run (default mode)")
    args = ap.parse_args(argv)

    mode = "quick" if args.quick else "full" if args.full else "default"
    device = resolve_device(args.device)  # as the workflow does: deterministic kernels on CUDA
    mirror = args.mirror if Path(args.mirror).is_dir() or "://" in args.mirror else None
    info = machine()
    header = {
        "run": dt.datetime.now().isoformat(timespec="seconds"),
        "mode": mode,
        **info,
        "threads": args.threads or "rule's",
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "load_start": _load(),
    }

    rows: list[dict] = []
    n, reps = (1024, 5) if args.quick else (2048, 15)
    nets = [(*net[:5], args.threads or net[5]) for net in networks()]
    bf16 = resolve_precision("auto", device) == "bf16"  # what precision: auto trains in here
    peak, peak16 = {}, {}  # matrix-multiply rates per thread count: each network against its own
    for threads in sorted({net[5] for net in nets}):
        torch.set_num_threads(threads)
        what = f"{threads} thread{'s' * (threads > 1)}"
        peak[threads] = matmul_gflops(n, reps, device)
        rows.append(
            _row("kernels", f"float32 matmul {n}x{n}, {what}", peak[threads], "GFLOP/s", f"median of {reps} x 0.2 s")
        )
        if bf16:
            peak16[threads] = matmul_gflops(n, reps, device, dtype=torch.bfloat16)
            rows.append(
                _row(
                    "kernels",
                    f"bfloat16 matmul {n}x{n}, {what}",
                    peak16[threads],
                    "GFLOP/s",
                    f"median of {reps} x 0.2 s",
                )
            )
    n_images, epochs = (256, 2) if args.quick else (4096, 3)
    for label, settings, batch, precision, loss, threads in nets:
        torch.set_num_threads(threads)
        rate, gflops = training_rate(settings, n_images, batch, epochs, device, precision=precision, loss=loss)
        note = f"{precision}, batch {batch}, {threads} thread{'s' * (threads > 1)}, {n_images} images, " + (
            f"median of epochs 2-{epochs}" if epochs > 2 else "epoch 2"
        )
        rows.append(_row("kernels", f"train {label}", rate, "samples/s", note))
        share = 100 * gflops / peak[threads]
        verdict = "ok" if share >= 50 else "below"
        extra = f", {100 * gflops / peak16[threads]:.1f} % of the bfloat16 rate" if precision == "bf16" and bf16 else ""
        rows.append(
            _row(
                "kernels",
                f"train {label}",
                gflops,
                "GFLOP/s",
                f"{share:.1f} % of the float32 matmul rate on as many threads (target >= 50 %: {verdict}){extra}",
            )
        )
    if bf16:  # N2D's MLP as config/full.yaml trains it
        label, settings, batch, _, _, threads = nets[-1]
        torch.set_num_threads(threads)
        rate, gflops = training_rate(settings, n_images, batch, epochs, device, precision="bf16")
        label = f"train {label}, bf16 autocast"
        rows.append(_row("kernels", label, rate, "samples/s", f"batch {batch}, {threads} threads, {n_images} images"))
        rows.append(
            _row(
                "kernels",
                label,
                gflops,
                "GFLOP/s",
                f"{100 * gflops / peak[threads]:.1f} % of the float32, "
                f"{100 * gflops / peak16[threads]:.1f} % of the bfloat16 matmul rate",
            )
        )

    if not args.no_workflow:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aeclust-bench-"))
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            runs = [] if args.no_tiny and not args.quick else [("tiny", [CONFIG / "tiny.yaml"])]
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
    print_table(
        rows,
        {
            k: header[k]
            for k in ("run", "mode", "commit", "cpu", "cores", "threads", "device", "load_start", "load_end")
        },
    )
    append_csv(args.csv, rows, header)
    print(f"\nappended {len(rows)} rows to {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
