"""What clustering a user's own images costs, per rule, as the number of images grows.

    python bench/scale.py --n 10000 --n 100000            # generate (cached), run, check, write JSON
    python bench/scale.py --markdown                      # the tables of docs/scaling.md from the JSON

For each N the script generates a folder of N synthetic pictures (PNG and JPEG, most of
them small, a fixed share of 4000x3000 photos; cached under bench/out/images/, made on
every core), writes the README's "Your own images" config for it (no labels, every image
clustered, one seed, few epochs: ``--epochs``), and runs ``snakemake --cores 2`` on it in
its own folder under bench/out/. It records every job's wall time, its images/s and its
peak memory (max_rss of Snakemake's benchmark file where the rule has one, and the job
process's own peak RSS from the kernel for every job, the larger of the two counts), and
the ``mem_mb`` and ``runtime`` the job declared (read inside the job, from
``snakemake.resources``). A job whose declared memory or runtime is below what it used is
marked TOO LOW, and the script then exits with status 1.

With two or more N the growth between the two largest is printed (cost ratio, and the
exponent p of cost ~ N^p: 1 is linear; with three N, measured above the smallest N's cost,
the job's fixed part), and every job's cost is projected to 1M and 10M images:
superlinear jobs (p > 1.15) by the power law, the others by the straight line through
the two largest N (a fixed part plus a cost per image), with where to run each and what
to ask for.

The per-job peak comes from a ``sitecustomize`` module that the script puts on the jobs'
PYTHONPATH: at exit, each job's Python process writes its ``ru_maxrss`` (the kernel's
high-water mark, not a sample), its wall time and its resources to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
RESULTS = OUT / "scale.json"
PUBLISHED = REPO / "docs" / "results" / "scale.json"
DATASET = "scale"
EXPERIMENT = "scale"
BIG = (4000, 3000)  # width, height of the big photos
MEDIUM = ((640, 480), (1024, 768), (1600, 1200))
PROJECT = (1_000_000, 10_000_000)
NETWORK_RULES = ("train_autoencoder", "extract_embeddings", "train_classifier", "train_denoiser", "selflabel")
IMPORT_TARGET_MB = 1024
# The least cost above a job's fixed part that a growth exponent is measured on: below it,
# run-to-run noise on the shared cores (seconds) and allocator slack (MB) decide the ratio.
MEASURABLE = {"wall_s": 2.0, "peak_mb": 50.0}
SUPERLINEAR = 1.15  # a growth exponent above this is more than noise around linear (1)  # importing big JPEGs at a small size: at most 1 GB, whatever their number
GENERATOR_VERSION = 1  # bump when the pictures change, so that cached folders are remade

# ---- the pictures ------------------------------------------------------------------------


def picture_spec(i: int, n: int, seed: int, big_share: float, medium_share: float) -> tuple[int, int, str, int]:
    """(width, height, format, class) of picture ``i`` of ``n``: exactly round(n * share)
    big and medium ones, spread evenly over the indices; the rest small (32 to 256 pixels a
    side), every other one a JPEG."""
    import numpy as np

    rng = np.random.default_rng([seed, i])
    n_big = round(n * big_share)
    n_medium = round(n * medium_share)
    cls = i % 10
    if n_big and (i * n_big) // n != ((i + 1) * n_big) // n:
        return (*BIG, "jpg", cls)
    if n_medium and ((i + 7) * n_medium) // n != ((i + 8) * n_medium) // n:
        w, h = MEDIUM[int(rng.integers(len(MEDIUM)))]
        return w, h, "jpg", cls
    side = int(rng.integers(32, 257))
    aspect = float(rng.uniform(0.75, 1.33))
    w, h = side, max(32, min(256, round(side / aspect)))
    return w, h, ("png" if i % 2 else "jpg"), cls


def draw_picture(i: int, n: int, seed: int, big_share: float, medium_share: float):
    """Picture ``i``: a smooth coloured background with grain, and one of ten shapes
    (the class) at a seeded place, size and colour."""
    import numpy as np
    from PIL import Image, ImageDraw

    w, h, fmt, cls = picture_spec(i, n, seed, big_share, medium_share)
    rng = np.random.default_rng([seed, i, 1])
    low = rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)
    im = Image.fromarray(low, "RGB").resize((w, h), Image.Resampling.BILINEAR)
    if w * h > 100_000:  # grain, so a photo's JPEG is as large as a real one's
        grain = Image.effect_noise((w, h), 24).convert("RGB")
        im = Image.blend(im, grain, 0.25)
    d = ImageDraw.Draw(im)
    s = min(w, h) * float(rng.uniform(0.35, 0.8))
    cx, cy = w * float(rng.uniform(0.35, 0.65)), h * float(rng.uniform(0.35, 0.65))
    box = [cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2]
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    width = max(1, round(s / 8))
    if cls == 0:
        d.ellipse(box, fill=colour)
    elif cls == 1:
        d.rectangle(box, fill=colour)
    elif cls == 2:
        d.polygon([(cx, box[1]), (box[0], box[3]), (box[2], box[3])], fill=colour)
    elif cls == 3:
        d.line([(box[0], box[1]), (box[2], box[3])], fill=colour, width=width)
        d.line([(box[0], box[3]), (box[2], box[1])], fill=colour, width=width)
    elif cls == 4:
        d.ellipse(box, outline=colour, width=width)
    elif cls == 5:
        d.rectangle(box, outline=colour, width=width)
    elif cls == 6:
        d.line([(cx, box[1]), (cx, box[3])], fill=colour, width=width)
        d.line([(box[0], cy), (box[2], cy)], fill=colour, width=width)
    elif cls == 7:
        d.polygon([(cx, box[1]), (box[2], cy), (cx, box[3]), (box[0], cy)], fill=colour)
    elif cls == 8:
        for k in range(4):
            y = box[1] + k * s / 4
            d.rectangle([box[0], y, box[2], y + s / 8], fill=colour)
    else:
        d.pieslice(box, 30, 300, fill=colour)
    return im, fmt


def _write_pictures(task):
    folder, start, stop, n, seed, big_share, medium_share = task
    written = 0
    for i in range(start, stop):
        im, fmt = draw_picture(i, n, seed, big_share, medium_share)
        path = Path(folder) / f"part{i // 1000:04d}" / f"img{i:07d}.{fmt}"
        path.parent.mkdir(exist_ok=True)
        if fmt == "jpg":
            im.save(path, quality=90)
        else:
            im.save(path, compress_level=1)
        written += path.stat().st_size
    return stop - start, written


def picture_folder(n: int, seed: int, big_share: float, medium_share: float, jobs: int) -> Path:
    """The folder of ``n`` pictures, made once (in parallel) and reused while its spec holds."""
    spec = {
        "n": n,
        "seed": seed,
        "big_share": big_share,
        "medium_share": medium_share,
        "generator": GENERATOR_VERSION,
    }
    name = f"n{n}_big{big_share:g}_med{medium_share:g}_s{seed}"
    folder = OUT / "images" / name
    marker = OUT / "images" / f"{name}.json"
    if folder.is_dir() and marker.is_file() and json.loads(marker.read_text()).get("spec") == spec:
        print(f"pictures: reusing {folder.relative_to(REPO)}", flush=True)
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    marker.unlink(missing_ok=True)
    tmp = folder.with_name(name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    chunk = 250
    tasks = [(str(tmp), a, min(a + chunk, n), n, seed, big_share, medium_share) for a in range(0, n, chunk)]
    t0, done, size = time.perf_counter(), 0, 0
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        for count, written in pool.imap_unordered(_write_pictures, tasks):
            done, size = done + count, size + written
            if done % 5000 < chunk:
                print(f"pictures: {done}/{n} ({size / 2**20:.0f} MiB, {time.perf_counter() - t0:.0f} s)", flush=True)
    tmp.rename(folder)  # only a complete folder carries the name that is reused
    seconds = time.perf_counter() - t0
    marker.write_text(json.dumps({"spec": spec, "bytes": size, "seconds": round(seconds, 1)}, indent=1))
    print(f"pictures: {n} in {seconds:.0f} s, {size / 2**20:.0f} MiB -> {folder.relative_to(REPO)}", flush=True)
    return folder


# ---- the run ---------------------------------------------------------------------------

HOOK = '''"""Written by bench/scale.py: each Snakemake job's Python process records its own cost at exit."""
import atexit
import json
import os
import resource
import sys
import time

_DIR = os.environ.get("AECLUST_SCALE_RECORDS")
_T0 = time.time()


def _record():
    smk = getattr(sys.modules.get("__main__"), "snakemake", None)
    if smk is None or not _DIR:
        return
    res = {}
    for key in ("mem_mb", "runtime", "gpu", "gpus", "disk_mb"):
        try:
            value = getattr(smk.resources, key)
        except AttributeError:
            continue
        if isinstance(value, (int, float)):
            res[key] = value
    sizes = [os.path.getsize(f) for f in smk.input if os.path.exists(f)]  # as Snakemake's input.size_mb
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = {
        "rule": smk.rule,
        "log": [str(p) for p in smk.log],
        "threads": smk.threads,
        "wall_s": time.time() - _T0,
        "cpu_s": usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime,
        "rss_mb": max(usage.ru_maxrss, children.ru_maxrss) / 1024,
        "resources": res,
        "input_mb": sum(sizes) / 2**20,
    }
    with open(os.path.join(_DIR, f"{os.getpid()}.json"), "w") as f:
        json.dump(record, f)


if _DIR:
    atexit.register(_record)
'''


def write_config(work: Path, images: Path, args) -> Path:
    """The README's own-images config: no labels, every image clustered, one seed."""
    e = args.epochs
    kmeans = ["raw", "ae", "ae_pca"] + (["ae_umap"] if args.umap else [])
    lines = [
        "# Written by bench/scale.py: the own-images workflow at reduced cost (docs/scaling.md).",
        f"dataset: {DATASET}",
        f"experiment: {EXPERIMENT}",
        "seeds: [0]",
        "datasets:",
        f"  {DATASET}:",
        "    source: folder",
        f"    path: {images}",
        "    labels: none",
        f"    image_size: {args.image_size}",
        "    channels: 1",
        "kmeans:",
        "  k: 10",
        f"  n_init: {args.n_init}",
        "autoencoder:",
        f"  epochs: [{e}]",
        "pca:",
        f"  epochs: [{e}]",
        "umap:",
        f"  epochs: [{e}]" if args.umap else "  epochs: []",
        "clustering:",
        f"  kmeans: [{', '.join(kmeans)}]",
        f"  gmm: [{'ae_umap' if args.umap else ''}]",
    ]
    path = work / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class LoadSampler:
    """The 1-minute load average every ``every`` seconds while a run goes on."""

    def __init__(self, every: float = 15.0):
        self.every, self.samples, self._stop = every, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(round(os.getloadavg()[0], 2))
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def job_id(log_path: str) -> str:
    """A job's name: its log path under logs/, without .log (the benchmark file's name too)."""
    marker = "/logs/"
    rel = log_path.split(marker, 1)[1] if marker in log_path else log_path
    return rel[: -len(".log")] if rel.endswith(".log") else rel


def read_benchmarks(bench: Path) -> dict[str, dict]:
    """Snakemake's benchmark files: job name -> {s, max_rss} (MB)."""
    import csv

    out = {}
    for tsv in sorted(bench.rglob("*.tsv")):
        with open(tsv, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            continue
        row = rows[-1]

        def num(key, row=row):
            try:
                return float(row[key])
            except (KeyError, TypeError, ValueError):
                return None

        out[tsv.relative_to(bench).with_suffix("").as_posix()] = {"s": num("s"), "max_rss": num("max_rss")}
    return out


def source_tree(rev: str | None) -> tuple[Path, str]:
    """The workflow to run and its commit: ``rev`` exported from git (a clean copy of what
    was committed, under bench/out/src/), or with ``None`` this checkout as it is."""
    if rev is None:
        return REPO, commit()
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = OUT / "src" / sha
    if not (tree / "Snakefile").is_file():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree, sha


def run_one(n: int, args, tree: Path, sha: str) -> dict:
    images = picture_folder(n, args.seed, args.big_share, args.medium_share, args.jobs)
    work = OUT / f"run_n{n}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "hook").mkdir(parents=True)
    (work / "records").mkdir()
    (work / "hook" / "sitecustomize.py").write_text(HOOK)
    config = write_config(work, images, args)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(work / "hook"), env.get("PYTHONPATH")]))
    env["AECLUST_SCALE_RECORDS"] = str(work / "records")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(tree / "Snakefile"), "--directory", str(work)]
    cmd += ["--configfile", str(config), "--cores", str(args.cores)]
    print(f"run N={n}: {' '.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    with LoadSampler() as load, open(work / "snakemake.out", "w") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (work / "snakemake.out").read_text().splitlines()[-30:]
        raise SystemExit(f"snakemake failed for N={n} (exit {proc.returncode}):\n" + "\n".join(tail))
    bench = read_benchmarks(work / "results" / DATASET / EXPERIMENT / "benchmarks")
    jobs = {}
    for rec_file in sorted((work / "records").glob("*.json")):
        rec = json.loads(rec_file.read_text())
        name = job_id(rec["log"][0]) if rec["log"] else rec["rule"]
        tsv = bench.get(name, {})
        peak = max(rec["rss_mb"], tsv.get("max_rss") or 0.0)
        jobs[name] = {
            "rule": rec["rule"],
            "threads": rec["threads"],
            "wall_s": round(rec["wall_s"], 2),
            "cpu_s": round(rec["cpu_s"], 2),
            "bench_s": tsv.get("s"),
            "rss_mb": round(rec["rss_mb"], 1),
            "bench_max_rss_mb": tsv.get("max_rss"),
            "peak_mb": round(peak, 1),
            "mem_mb": rec["resources"].get("mem_mb"),
            "runtime_min": rec["resources"].get("runtime"),
            "gpus": rec["resources"].get("gpus", rec["resources"].get("gpu", 0)),
            "input_mb": round(rec.get("input_mb", 0.0), 2),
        }
    return {
        "n": n,
        "commit": sha,
        "machine": machine(),
        "wall_s": round(wall, 1),
        "load": load.samples,
        "pictures": json.loads((OUT / "images" / f"{images.name}.json").read_text()),
        "jobs": dict(sorted(jobs.items())),
    }


# ---- checks, growth, projection ----------------------------------------------------------


def checks(job: dict) -> tuple[str, str]:
    """(memory, runtime) verdicts: OK when the declared value is above what the job used."""
    mem = "n/a" if job["mem_mb"] is None else ("OK" if job["mem_mb"] > job["peak_mb"] else "TOO LOW")
    rt = job["runtime_min"]
    run = "n/a" if rt is None else ("OK" if rt * 60 > job["wall_s"] else "TOO LOW")
    return mem, run


def growth(runs: dict) -> dict:
    """Per job, from the second largest N to the largest: the cost ratio, the exponent p of
    cost ~ N^p, the cost per image, and the projection to 1M and 10M images.

    With three or more N the smallest one is the job's fixed part (start-up, imports,
    numba's compilation), and p is measured on what the two larger N cost above it, so a
    large fixed part does not hide a superlinear term; where that part is still within the
    noise at the middle N (under :data:`MEASURABLE`, or under a quarter of the cost), p is
    that of the whole cost. Projection: a job with p > 1 by the
    power law on that increment, the others by the straight line through the two largest N;
    a job whose input does not grow with N (:func:`input_grows`) by its cost at the largest
    N, since nothing it reads grows (what differs between its runs is noise).
    """
    ns = sorted(int(k) for k in runs)
    if len(ns) < 2:
        return {}
    n0, n1 = ns[-2], ns[-1]
    base = ns[0] if len(ns) > 2 else None
    j0, j1 = runs[str(n0)]["jobs"], runs[str(n1)]["jobs"]
    jb = runs[str(base)]["jobs"] if base else {}
    out = {}
    for name in j1:
        if name not in j0:
            continue
        row = {"n0": n0, "n1": n1, "base": base if name in jb else None, "input_grows": input_grows(j0[name], j1[name])}
        for key in ("wall_s", "peak_mb"):
            a, b = j0[name][key], j1[name][key]
            fixed = min(jb[name][key], a) if name in jb else 0.0
            ratio = b / a if a else math.inf
            da, db = a - fixed, b - fixed
            if da >= max(MEASURABLE[key], 0.25 * a) and db > 0:  # the part above the fixed one
                p = math.log(db / da) / math.log(n1 / n0)
            elif a > 0 and b > 0:  # that part is within the noise at n0: the whole cost's exponent
                p = math.log(b / a) / math.log(n1 / n0)
            else:
                p = 0.0
            slope = (b - a) / (n1 - n0)
            proj = {}
            for n in PROJECT:
                if not row["input_grows"]:  # reads the same whatever N: costs what it cost
                    proj[str(n)] = max(a, b)
                elif p > SUPERLINEAR:  # the measured power law on the part above the fixed one
                    proj[str(n)] = fixed + db * (n / n1) ** p
                else:  # at most linear: the fixed part plus the measured cost per image
                    proj[str(n)] = max(b, b + slope * (n - n1))
            row[key] = {
                "ratio": round(ratio, 2),
                "p": round(p, 2),
                "fixed": fixed,
                "per_image": slope,
                "projected": proj,
            }
        out[name] = row
    return out


# The import reads a folder, which Snakemake (and the job's record) measures by its entry,
# a few KB whatever the pictures in it: its work grows with N all the same.
FOLDER_RULES = ("import_images",)


def input_grows(j0: dict, j1: dict) -> bool:
    """Whether a job's input files are larger at the larger N (by more than 1 %): the figure
    of the training loss reads one line per epoch whatever the image count. A job without a
    recorded input size, and the import (:data:`FOLDER_RULES`), count as growing."""
    if j1["rule"] in FOLDER_RULES or "input_mb" not in j0 or "input_mb" not in j1:
        return True
    return j1["input_mb"] > 1.01 * j0["input_mb"]


def sized_by_mb(res, job: dict, n: int, settings: dict, slope: float, n1: int) -> float:
    """The size in MB the workflow computes a job's resources from at ``n`` images: its
    input files' size, along the straight line through the two largest N (``slope`` MB per
    image from ``n1``), except the import, which the workflow sizes by its images decoded at
    the target size (counted at parse time; ``import_mb`` of the measured commit's
    resources.py; the pictures here are grey)."""
    if job["rule"] in FOLDER_RULES and hasattr(res, "import_mb"):
        size = settings["image_size"]
        return res.import_mb(n, size, size, 1)
    return max(job["input_mb"], job["input_mb"] + slope * (n - n1))


def advice(job: dict, g: dict, n: int) -> tuple[str, int, int]:
    """Where a job of ``n`` images should run, and the mem_mb and runtime (minutes) to ask
    for: 1.5x the projected peak and time. SLURM past 16 GB or an hour; a GPU for a network
    job past 30 minutes on the CPU."""
    mem = g["peak_mb"]["projected"][str(n)]
    secs = g["wall_s"]["projected"][str(n)]
    ask_mem = int(math.ceil(mem * 1.5 / 1000) * 1000)
    ask_rt = max(5, int(math.ceil(secs * 1.5 / 60 / 5) * 5))
    where = []
    if job["rule"] in NETWORK_RULES and secs > 1800:
        where.append("GPU")
    if mem > 16_000 or secs > 3600:
        where.append("SLURM")
    return " + ".join(where) or "local", ask_mem, ask_rt


def declared_projection(results: dict, tree: Path, epochs: int) -> dict:
    """What the workflow would declare for each job at 1M and 10M images, where its resources
    follow the input size (``aeclust/resources.py`` of the measured commit): the job's input
    size projected along the straight line through the two largest N. The other rules
    declare fixed numbers, those measured at the largest N (the projection table's "fixed")."""
    import importlib.util

    path = tree / "workflow" / "scripts" / "aeclust" / "resources.py"
    g = growth(results["runs"])
    if not path.is_file() or not g:
        return {}
    spec = importlib.util.spec_from_file_location("_scale_resources", path)
    res = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(res)
    out = {}
    for name, row in g.items():
        j0 = results["runs"][str(row["n0"])]["jobs"][name]
        j1 = results["runs"][str(row["n1"])]["jobs"][name]
        if j1["rule"] not in res.RULES:
            continue
        slope = (j1["input_mb"] - j0["input_mb"]) / (row["n1"] - row["n0"])
        work = epochs if j1["rule"].startswith("train_") else 1
        out[name] = {}
        for n in PROJECT:
            input_mb = sized_by_mb(res, j1, n, results["settings"], slope, row["n1"])
            out[name][str(n)] = {
                "input_mb": round(input_mb, 1),
                "mem_mb": res.mem_mb(j1["rule"], input_mb),
                "runtime": res.runtime(j1["rule"], input_mb, work),
            }
    return out


def _count(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def _fmt_s(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.1f} min"
    return f"{s:.1f} s"


def _fmt_mb(mb: float) -> str:
    return f"{mb / 1000:.1f} GB" if mb >= 1000 else f"{mb:.0f} MB"


def _table(header: list, rows: list[list], markdown: bool) -> list[str]:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    return ["  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]


def run_table(run: dict, markdown: bool = True) -> tuple[str, int]:
    """One N: every job's time, images/s, peak memory and its declared resources checked."""
    n, rows, failed = run["n"], [], 0
    for name, job in run["jobs"].items():
        mem_ok, rt_ok = checks(job)
        failed += (mem_ok == "TOO LOW") + (rt_ok == "TOO LOW")
        rows.append(
            [
                name,
                job["threads"],
                f"{job['wall_s']:.1f}",
                f"{n / job['wall_s']:,.0f}" if job["wall_s"] else "-",
                f"{job['peak_mb']:.0f}",
                job["mem_mb"],
                mem_ok,
                job["runtime_min"],
                rt_ok,
            ]
        )
    header = ["job", "threads", "wall s", "images/s", "peak MB", "mem_mb", "memory", "runtime min", "time"]
    return "\n".join(_table(header, rows, markdown)), failed


def run_line(run: dict) -> str:
    load = run["load"] or [float("nan")]
    imp = [j for j in run["jobs"].values() if j["rule"] == "import_images"]
    line = (
        f"N = {run['n']:,}: whole run {_fmt_s(run['wall_s'])}, commit {run['commit']}, "
        f"{run['machine']['cpu']} ({run['machine']['cores']} cores), load average "
        f"{min(load):.1f}-{max(load):.1f} (median {statistics.median(load):.1f})"
    )
    if imp:
        peak = imp[0]["peak_mb"]
        verdict = "met" if peak <= IMPORT_TARGET_MB else "NOT met"
        line += f"; import_images peak {peak:.0f} MB (target <= {IMPORT_TARGET_MB} MB: {verdict})"
    return line


def growth_table(results: dict, markdown: bool = True) -> str:
    runs = results["runs"]
    g = growth(runs)
    if not g:
        return "(one N measured: no growth)"
    n1 = next(iter(g.values()))["n1"]
    rows = []
    for name, row in g.items():
        t, m = row["wall_s"], row["peak_mb"]
        flag = [] if row.get("input_grows", True) else ["input fixed: projected as measured"]
        if t["p"] > SUPERLINEAR and runs[str(n1)]["jobs"][name]["wall_s"] > 5:
            flag.append("time superlinear")
        if m["p"] > SUPERLINEAR and runs[str(n1)]["jobs"][name]["peak_mb"] > 500:
            flag.append("memory superlinear")
        rows.append(
            [
                name,
                f"x{t['ratio']:g}",
                f"{t['p']:.2f}",
                f"{t['per_image'] * 1e3:.3f}",
                f"x{m['ratio']:g}",
                f"{m['p']:.2f}",
                f"{m['per_image'] * 1e3:.2f}",
                ", ".join(flag) or "ok",
            ]
        )
    header = ["job", "time", "p (time)", "ms/image", "memory", "p (memory)", "KB/image", "growth"]
    return "\n".join(_table(header, rows, markdown))


def declared_at(declared: dict, name: str, job: dict, row: dict, n: int) -> tuple[dict, bool, list[str] | None]:
    """What job ``name`` declares at ``n`` images (``declared``: :func:`declared_projection`;
    a rule with fixed numbers keeps those measured), whether those are fixed, and which of
    memory and time fall below its projection there (None: nothing declared to compare)."""
    d = declared.get(name, {}).get(str(n))
    fixed = d is None
    d = d or {"mem_mb": job["mem_mb"], "runtime": job["runtime_min"]}
    if d["mem_mb"] is None or d["runtime"] is None:
        return d, fixed, None
    peak, secs = row["peak_mb"]["projected"][str(n)], row["wall_s"]["projected"][str(n)]
    low = [w for w, ok in (("memory", d["mem_mb"] > peak), ("time", d["runtime"] * 60 > secs)) if not ok]
    return d, fixed, low


def too_low_at(results: dict, n: int) -> list[str]:
    """The jobs whose declared mem_mb or runtime at ``n`` images falls below the projection."""
    declared, runs = results.get("declared_projection", {}), results["runs"]
    return [
        name
        for name, row in growth(runs).items()
        if declared_at(declared, name, runs[str(row["n1"])]["jobs"][name], row, n)[2]
    ]


def projection_table(results: dict, markdown: bool = True) -> str:
    runs = results["runs"]
    g = growth(runs)
    if not g:
        return "(one N measured: no projection)"
    declared = results.get("declared_projection", {})
    rows = []
    for name, row in g.items():
        job = runs[str(row["n1"])]["jobs"][name]
        where_1m = advice(job, row, PROJECT[0])
        where, ask_mem, ask_rt = advice(job, row, PROJECT[-1])
        d, fixed, low = declared_at(declared, name, job, row, PROJECT[-1])
        verdict = "-"
        if low is not None:
            verdict = f"{d['mem_mb']}, {d['runtime']}{' (fixed)' if fixed else ''}: " + (
                "OK" if not low else "TOO LOW (" + ", ".join(low) + ")"
            )
        rows.append(
            [
                name,
                _fmt_s(row["wall_s"]["projected"]["1000000"]),
                _fmt_mb(row["peak_mb"]["projected"]["1000000"]),
                where_1m[0],
                _fmt_s(row["wall_s"]["projected"]["10000000"]),
                _fmt_mb(row["peak_mb"]["projected"]["10000000"]),
                where,
                ask_mem,
                ask_rt,
                verdict,
            ]
        )
    header = ["job", "time 1M", "memory 1M", "1M: where", "time 10M", "memory 10M", "10M: where"]
    header += ["ask mem_mb", "ask runtime", "declared at 10M (mem_mb, runtime)"]
    return "\n".join(_table(header, rows, markdown))


def tables(results: dict) -> dict[str, str]:
    """The Markdown tables of docs/scaling.md, by name: ``runs`` (one per N), ``growth``, ``projection``."""
    runs = [results["runs"][k] for k in sorted(results["runs"], key=int)]
    out = {"runs": "\n\n".join(f"**{run_line(run)}**\n\n{run_table(run)[0]}" for run in runs)}
    out["growth"] = growth_table(results)
    out["projection"] = projection_table(results)
    return out


def report(results: dict, markdown: bool) -> tuple[str, int]:
    """The tables (plain or Markdown) and how many declared resources were too low."""
    parts, failed = [], 0
    head = "### " if markdown else ""
    for key in sorted(results["runs"], key=int):
        run = results["runs"][key]
        text, bad = run_table(run, markdown)
        parts += [head + run_line(run), text]
        failed += bad
    ns = sorted(int(k) for k in results["runs"])
    if len(ns) > 1:
        fixed = f"; p above the fixed cost measured at {ns[0]:,}" if len(ns) > 2 else ""
        parts += [f"{head}Growth from {ns[-2]:,} to {ns[-1]:,} images (linear: x{ns[-1] / ns[-2]:g}, p = 1{fixed})"]
        parts += [growth_table(results, markdown)]
        parts += [f"{head}Projected to 1M and 10M images", projection_table(results, markdown)]
    return "\n\n".join(parts) + "\n", failed


# ---- command line ------------------------------------------------------------------------


def machine() -> dict:
    cpu = platform.processor()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        cpu = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    mem_kb = next(
        (int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")),
        0,
    )
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1)}


def snapshot_fields(results: dict) -> dict:
    """What a result snapshot of docs/results/ says about where its numbers come from."""
    sys.path.insert(0, str(REPO / "bench"))
    from ae_speed import matmul_gflops, set_threads

    set_threads(2)
    last = results["runs"][max(results["runs"], key=int)]
    ns = " ".join(f"--n {k}" for k in sorted(results["runs"], key=int))
    return {
        "provenance": "generated",
        "source": f"python bench/scale.py {ns}",
        "commit": last["commit"].split()[0],
        "machine": last["machine"],
        "matmul_gflops": {"threads": 2, "value": round(matmul_gflops(), 1)},
        "date": time.strftime("%Y-%m-%d"),
    }


def commit() -> str:
    def git(*a):
        return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "workflow", "Snakefile", "config")
    return git("rev-parse", "--short", "HEAD") + (" (workflow changed since)" if dirty else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, action="append", help="number of images (repeat for several runs)")
    ap.add_argument("--epochs", type=int, default=2, help="autoencoder epochs (autoencoder.epochs)")
    ap.add_argument("--image-size", type=int, default=32, help="datasets.<name>.image_size (grey)")
    ap.add_argument("--n-init", type=int, default=10, help="kmeans.n_init")
    ap.add_argument("--no-umap", dest="umap", action="store_false", help="leave out UMAP and the mixture on it")
    ap.add_argument("--big-share", type=float, default=0.01, help="share of 4000x3000 JPEG photos")
    ap.add_argument("--medium-share", type=float, default=0.04, help="share of 640x480 to 1600x1200 JPEGs")
    ap.add_argument("--seed", type=int, default=0, help="seed of the pictures")
    ap.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    ap.add_argument("--jobs", type=int, default=os.cpu_count(), help="processes drawing the pictures")
    ap.add_argument(
        "--rev",
        default="HEAD",
        help="run the workflow as committed at this revision (a clean copy); --worktree: this checkout as it is",
    )
    ap.add_argument("--worktree", dest="rev", action="store_const", const=None, help="run this checkout as it is")
    ap.add_argument("--generate-only", action="store_true", help="make (or reuse) the pictures, run nothing")
    ap.add_argument("--results", type=Path, default=RESULTS, help="the result JSON (runs of other N kept)")
    ap.add_argument("--publish", action="store_true", help=f"also copy the JSON to {PUBLISHED.relative_to(REPO)}")
    ap.add_argument("--markdown", action="store_true", help="print the Markdown tables from the JSON, run nothing")
    args = ap.parse_args(argv)

    if args.markdown:
        if not args.results.is_file():
            raise SystemExit(f"{args.results}: no results yet (run bench/scale.py --n N first)")
        text, _ = report(json.loads(args.results.read_text()), markdown=True)
        print(text)
        return 0
    if not args.n:
        ap.error("--n is required (or --markdown)")
    if any(n < 100 for n in args.n):
        ap.error("--n: at least 100 images (UMAP's neighbours and 10 clusters need them)")
    if args.generate_only:
        for n in args.n:
            picture_folder(n, args.seed, args.big_share, args.medium_share, args.jobs)
        return 0

    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    settings = {
        k: getattr(args, k) for k in ("epochs", "image_size", "n_init", "umap", "big_share", "medium_share", "cores")
    }
    if results.get("settings") != settings:
        results = {}  # runs under other settings do not compare
    results["settings"] = settings
    results.setdefault("runs", {})
    tree, sha = source_tree(args.rev)  # once: every N runs the same workflow
    for n in args.n:
        results["runs"][str(n)] = run_one(n, args, tree, sha)
        results.update(snapshot_fields(results))
        results["declared_projection"] = declared_projection(results, tree, args.epochs)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=1) + "\n")
    if args.publish:
        PUBLISHED.parent.mkdir(parents=True, exist_ok=True)
        PUBLISHED.write_text(json.dumps(results, indent=1) + "\n")
    text, failed = report(results, markdown=False)
    print(text)
    if failed:
        print(f"{failed} declared resources are below what the jobs used (TOO LOW above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
