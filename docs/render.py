"""Render every number of README.md and docs/*.md from the result snapshots in docs/results/.

    python docs/render.py                               # rewrite the marked tables and values
    python docs/render.py --check                       # exit 1 where a marked region differs
    python docs/render.py --snapshot results/mnist/study  # docs/results/study.json from a finished run

A table sits between ``<!-- table:NAME -->`` and ``<!-- /table -->`` on lines of their own,
an inline value between ``<!-- value:NAME -->`` and ``<!-- /value -->``; NAME is one of
:data:`TABLES` / :data:`VALUES`. Everything between the markers is replaced by what NAME
renders from the snapshots, so a number written there by hand does not survive a render
(and ``--check`` fails on it).

A snapshot is one JSON file per measured experiment. ``"provenance": "generated"``: built
by ``--snapshot`` from the result files of a finished run (summary.csv, summary.md's claims,
denoise/denoising.csv, Snakemake's job metadata), on the machine that ran it, with the
float32 matmul rate measured there and then. ``"provenance": "transcribed"``: typed in from
the tables a run printed, whose result files were not kept; its ``provenance_note`` says
from what. Standard library only, except ``--snapshot`` (pandas, and torch for the matmul probe).
"""

from __future__ import annotations

import argparse
import base64
import csv
import functools
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
RESULTS = DOCS / "results"
TARGETS = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]

TABLE_RE = re.compile(r"(?<!`)(<!-- table:([\w.-]+) -->\n)(.*?)(<!-- /table -->)", re.S)
VALUE_RE = re.compile(r"(?<!`)(<!-- value:([\w.-]+) -->)(.*?)(<!-- /value -->)", re.S)


# ---------------------------------------------------------------------------- snapshots


def load_snapshots(folder: Path = RESULTS) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def published(dataset: str) -> dict[str, float]:
    """The papers' accuracies on the whole dataset, as config/config.yaml lists them."""
    import yaml  # PyYAML comes with Snakemake

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    return dict(config["datasets"][dataset].get("published", {}))


# ---------------------------------------------------------------------------- formatting


def pm(stats: dict | None, digits: int = 4) -> str:
    if not stats or stats.get("mean") is None:
        return ""
    sd = stats.get("sd")
    return f"{stats['mean']:.{digits}f}" + ("" if sd is None else f" ± {sd:.{digits}f}")


def seconds(s: float) -> str:
    return f"{s:,.0f} s"


def span(values, unit: str = "") -> str:
    lo, hi = (min(values), max(values)) if isinstance(values, list) else (values["min"], values["max"])
    return f"{lo:,.0f}{unit}" if lo == hi else f"{lo:,.0f}-{hi:,.0f}{unit}"


def seed_list(seeds: list[int]) -> str:
    contiguous = seeds == list(range(seeds[0], seeds[-1] + 1))
    return f"{seeds[0]}-{seeds[-1]}" if contiguous and len(seeds) > 2 else ", ".join(map(str, seeds))


def machine_line(snap: dict) -> str:
    m = snap["machine"]
    mm = snap["matmul_gflops"]
    rate = f"{mm['value']:.0f}" if "value" in mm else span(mm)
    gpu = "no GPU" if not m.get("gpu") else m["gpu"]
    return f"{m['cores']}-core {m['cpu']}, {gpu}, torch {m['torch']}; float32 matmul {rate} GFLOP/s on {mm['threads']} threads"


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if a == "r" else "---" for a in (align or "l" * len(header))) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- the study


def _study_pi(row: dict) -> str:
    if row.get("study_accuracy") in (None, "") or row.get("study_in_pi") in (None, ""):
        return ""
    lo, hi, study = row["accuracy_pi_low"], row["accuracy_pi_high"], row["study_accuracy"]
    where = "yes" if row["study_in_pi"] else ("no, ours is higher" if study < lo else "no, ours is lower")
    return f"{where} [{lo:.4f}, {hi:.4f}]"


def study_summary(s: dict) -> str:
    rows = []
    for r in s["summary"]:
        rows.append(
            [
                r["description"],
                pm({"mean": r.get("accuracy_mean"), "sd": r.get("accuracy_sd")}),
                pm({"mean": r.get("nmi_mean"), "sd": r.get("nmi_sd")}),
                pm({"mean": r.get("ari_mean"), "sd": r.get("ari_sd")}),
                "" if r.get("study_accuracy") is None else f"{r['study_accuracy']:.4f}",
                _study_pi(r),
            ]
        )
    header = ["method", "accuracy", "NMI", "ARI", "study", "study inside our 95 % prediction interval?"]
    return table(header, rows)


def study_claims(s: dict) -> str:
    rows = [[c["section"], c["claim"], c["tested"], f"**{c['verdict']}**"] for c in s["claims"]]
    return table(["section", "claim", "ours", "verdict"], rows)


def study_verdicts(s: dict) -> str:
    """The claims that compare methods (the study's numbers are the summary table's last columns)."""
    claims = [c for c in s["claims"] if "reproduced" not in c["verdict"]]
    return study_claims({"claims": claims})


def study_denoising(s: dict) -> str:
    rows = []
    for r in s["denoising"]:
        legible = "accuracy_noisy_mean" in r
        rows.append(
            [
                f"{r['rate']:g}",
                f"{r['psnr_noisy_mean']:.2f}",
                f"{r['psnr_median_mean']:.2f}",
                f"{r['psnr_denoised_mean']:.2f}",
                f"{r['gain_over_median_mean']:+.2f}",
                " / ".join(f"{r[f'accuracy_{v}_mean']:.3f}" for v in ("noisy", "median", "denoised"))
                if legible
                else "",
            ]
        )
    header = ["noise p", "PSNR noisy", "3x3 median", "autoencoder", "AE − median", "legibility noisy / median / AE"]
    return table(header, rows, "rrrrrl")


def study_time(s: dict, top: int = 5) -> str:
    rules = sorted(s["run"]["rules"], key=lambda r: -r["job_seconds"])
    rows = [[f"`{r['rule']}`", str(r["jobs"]), f"{r['job_seconds']:.0f}"] for r in rules[:top]]
    rest = rules[top:]
    if rest:
        rows.append(
            [
                f"the other {len(rest)} rules",
                str(sum(r["jobs"] for r in rest)),
                f"{sum(r['job_seconds'] for r in rest):.0f}",
            ]
        )
    return table(["rule", "jobs", "job-seconds"], rows, "lrr")


# ---------------------------------------------------------------------------- full datasets


def _method_row(m: dict, with_seeds: bool = True) -> list[str]:
    acc = m["accuracy"]
    own = [m[k].get("seeds") for k in ("nmi", "ari") if m.get(k) and m[k].get("seeds") not in (None, acc["seeds"])]
    cells = [f"{m['description']} (`{m['method']}`)", pm(acc), pm(m.get("nmi")), pm(m.get("ari"))]
    if own:  # NMI and ARI recorded over fewer seeds than the accuracy
        cells[2:4] = [f"{c} (seeds {seed_list(own[0])})" for c in cells[2:4]]
    if with_seeds:
        per_seed = acc.get("per_seed")
        cells.append(", ".join(f"{v:.4f}" for v in per_seed) if per_seed else f"seeds {seed_list(acc['seeds'])}")
    return cells


def full_methods(snap: dict) -> str:
    rows = [_method_row(m) for m in snap["methods"]]
    for part in snap.get("baselines", []):
        rows += [_method_row(m) for m in part["methods"]]
    return table(["method", "accuracy", "NMI", "ARI", "accuracy per seed"], rows)


def full_headline(snaps: dict) -> str:
    mnist, fashion = snaps["full-mnist"], snaps["full-fashion"]
    fash = {m["method"]: m for m in fashion["methods"]}
    rows = []
    for i, m in enumerate(mnist["methods"]):
        name = f"ours: {m['description']} (`{m['method']}`)"
        f = fash.get(m["method"])
        cells = [name, pm(m["accuracy"]), pm(m.get("nmi")), pm(m.get("ari")), pm(f["accuracy"]) if f else ""]
        rows.append([f"**{c}**" if i == 0 and c else c for c in cells])
    pub_m, pub_f = published("mnist"), published("fashion-mnist")
    names = sorted(dict.fromkeys([*pub_m, *pub_f]), key=lambda n: pub_m.get(n, pub_f.get(n, 0)))  # stable: config order
    for n in names:
        rows.append([f"published: {n}", _pub(pub_m.get(n)), "", "", _pub(pub_f.get(n))])
    return table(["method", "MNIST accuracy", "NMI", "ARI", "Fashion-MNIST accuracy"], rows)


def _pub(v: float | None) -> str:
    return "" if v is None else f"{v:g}"


# ---------------------------------------------------------------------------- what was tried, benchmarks


def _cell(v) -> str:
    return "" if v is None else v if isinstance(v, str) else f"{v:.4f}"


def tried(snap: dict) -> str:
    rows = [
        [t["what"], t["setting"], _cell(t.get("before")), _cell(t["after"]), t.get("cost", ""), t["outcome"]]
        for t in snap["rows"]
    ]
    return table(["what was tried", "compared on", "before", "after", "time", "outcome"], rows)


def bench_rows(snap: dict) -> str:
    rows = [[r["metric"], r["value"], r.get("note", "")] for r in snap["rows"]]
    return table(["metric", "value", "note"], rows, "lrl")


@functools.cache
def _bench_scale():
    """bench/scale.py, whose tables and growth docs/scaling.md shows."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_bench_scale", REPO / "bench" / "scale.py")
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    return scale


def scale_table(snap: dict, part: str) -> str:
    """docs/scaling.md's tables, as ``bench/scale.py --markdown`` prints them from its snapshot."""
    return _bench_scale().tables(snap)[part] + "\n"


def _scale_largest(snap: dict) -> dict:
    return snap["runs"][max(snap["runs"], key=int)]


def _scale_each(snap: dict, fmt) -> str:
    """``fmt(run)`` for each measured N, smallest first, joined as prose."""
    return _and([fmt(snap["runs"][k]) for k in sorted(snap["runs"], key=int)])


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def scale_machine(snap: dict) -> str:
    m, mm = snap["machine"], snap["matmul_gflops"]
    return (
        f"{m['cores']}-core {m['cpu']}, {m['memory_gib']} GiB; "
        f"float32 matmul {mm['value']:.0f} GFLOP/s on {mm['threads']} threads"
    )


def scale_pictures(snap: dict) -> str:
    """The largest folder of pictures: its count, size on disk and the time it took to draw."""
    run = _scale_largest(snap)
    pics = run["pictures"]
    return f"{run['n']:,} pictures, {pics['bytes'] / 2**30:.1f} GiB, drawn in {_bench_scale()._fmt_s(pics['seconds'])}"


def scale_peak(snap: dict) -> str:
    """The largest peak of any job at the largest N, and whose."""
    name, job = max(_scale_largest(snap)["jobs"].items(), key=lambda kv: kv[1]["peak_mb"])
    return f"{job['peak_mb'] / 1000:.1f} GB (`{name}`)"


def scale_superlinear(snap: dict) -> str:
    """The jobs whose time or memory grew faster than linearly, with their exponent."""
    scale = _bench_scale()
    found = []
    for name, row in scale.growth(snap["runs"]).items():
        for key, what in (("wall_s", "time"), ("peak_mb", "memory")):
            if row[key]["p"] > scale.SUPERLINEAR:
                found.append(f"`{name}` ({what}, p = {row[key]['p']:.2f})")
    return _and(found) if found else "none"


def scale_declared(snap: dict, n: int | None = None) -> str:
    """Whether every job's declared mem_mb and runtime cover its peak and time (at the largest
    N measured, or projected to ``n`` images); else the jobs that fall short."""
    scale = _bench_scale()
    if n is None:
        short = sorted(
            {
                name
                for run in snap["runs"].values()
                for name, job in run["jobs"].items()
                if "TOO LOW" in scale.checks(job)
            }
        )
    else:
        short = scale.too_low_at(snap, n)
    return "every job's declared `mem_mb` and `runtime` cover it" if not short else "too low for " + _and(short)


# ---------------------------------------------------------------------------- registry


TABLES = {
    "study.summary": lambda s: study_summary(s["study"]),
    "study.claims": lambda s: study_claims(s["study"]),
    "study.denoising": lambda s: study_denoising(s["study"]),
    "study.verdicts": lambda s: study_verdicts(s["study"]),
    "study.time": lambda s: study_time(s["study"]),
    "full.headline": full_headline,
    "full-mnist.methods": lambda s: full_methods(s["full-mnist"]),
    "full-fashion.methods": lambda s: full_methods(s["full-fashion"]),
    "tried": lambda s: tried(s["tried"]),
    "bench-xeon.rows": lambda s: bench_rows(s["bench-xeon"]),
    "bench-epyc.rows": lambda s: bench_rows(s["bench-epyc"]),
    "scale.runs": lambda s: scale_table(s["scale"], "runs"),
    "scale.growth": lambda s: scale_table(s["scale"], "growth"),
    "scale.projection": lambda s: scale_table(s["scale"], "projection"),
}


def _run_values(name: str) -> dict:
    """Inline values every snapshot offers: NAME.commit, NAME.machine, NAME.provenance."""
    return {
        f"{name}.commit": lambda s: (
            s[name]["commit"][:7]
            + (" with uncommitted library changes" if s[name].get("library_changed_since_commit") else "")
        ),
        f"{name}.machine": lambda s: machine_line(s[name]),
        f"{name}.provenance": lambda s: s[name]["provenance"],
    }


def _first(snap: dict) -> dict:
    return snap["methods"][0]


VALUES = {
    **_run_values("study"),
    **_run_values("full-mnist"),
    **_run_values("full-fashion"),
    **_run_values("bench-xeon"),
    **_run_values("bench-epyc"),
    "study.runtime": lambda s: seconds(s["study"]["run"]["seconds"]),
    "study.jobs": lambda s: str(s["study"]["run"]["jobs"]),
    "study.seeds": lambda s: seed_list(s["study"]["config"]["seeds"]),
    "study.noop": lambda s: (
        "" if s["study"]["run"].get("noop_seconds") is None else f"{s['study']['run']['noop_seconds']:.1f} s"
    ),
    "full-mnist.accuracy": lambda s: pm(_first(s["full-mnist"])["accuracy"]),
    "full-mnist.worst": lambda s: f"{min(_first(s['full-mnist'])['accuracy']['per_seed']):.4f}",
    "full-mnist.seeds": lambda s: seed_list(s["full-mnist"]["seeds"]),
    "full-mnist.time": lambda s: span(s["full-mnist"]["seconds_per_seed"], " s"),
    "full-fashion.accuracy": lambda s: pm(_first(s["full-fashion"])["accuracy"]),
    "full-fashion.seeds": lambda s: seed_list(s["full-fashion"]["seeds"]),
    "full-fashion.time": lambda s: span(s["full-fashion"]["seconds_per_seed"], " s"),
    "scale.commit": lambda s: s["scale"]["commit"][:7],
    "scale.machine": lambda s: scale_machine(s["scale"]),
    "scale.ns": lambda s: _scale_each(s["scale"], lambda r: f"{r['n']:,}"),
    "scale.largest_n": lambda s: f"{_scale_largest(s['scale'])['n']:,}",
    "scale.largest_run": lambda s: _bench_scale()._fmt_s(_scale_largest(s["scale"])["wall_s"]),
    "scale.big_photos": lambda s: _scale_each(
        s["scale"], lambda r: f"{round(r['n'] * s['scale']['settings']['big_share']):,}"
    ),
    "scale.import_peaks": lambda s: (
        _scale_each(s["scale"], lambda r: f"{r['jobs']['import_images']['peak_mb']:.0f}") + " MB"
    ),
    "scale.pictures": lambda s: scale_pictures(s["scale"]),
    "scale.max_peak": lambda s: scale_peak(s["scale"]),
    "scale.superlinear": lambda s: scale_superlinear(s["scale"]),
    "scale.declared": lambda s: scale_declared(s["scale"]),
    "scale.declared_10m": lambda s: scale_declared(s["scale"], 10_000_000),
}


# ---------------------------------------------------------------------------- render / check


def render_text(text: str, snaps: dict, where: str = "") -> tuple[str, list[str]]:
    """``text`` with every marked region rendered, and the problems found (unknown names)."""
    problems = []

    def sub_table(m: re.Match) -> str:
        name = m.group(2)
        if name not in TABLES:
            problems.append(f"{where}: unknown table '{name}' (known: {', '.join(sorted(TABLES))})")
            return m.group(0)
        return m.group(1) + _render(TABLES[name], snaps, name) + m.group(4)

    def sub_value(m: re.Match) -> str:
        name = m.group(2)
        if name not in VALUES:
            problems.append(f"{where}: unknown value '{name}' (known: {', '.join(sorted(VALUES))})")
            return m.group(0)
        return m.group(1) + _render(VALUES[name], snaps, name) + m.group(4)

    def _render(fn, snaps: dict, name: str) -> str:
        try:
            return fn(snaps)
        except KeyError as e:
            problems.append(f"{where}: '{name}' needs {e} in its snapshot (docs/results/{name.split('.')[0]}.json)")
            return "?"

    return VALUE_RE.sub(sub_value, TABLE_RE.sub(sub_table, text)), problems


def render_all(check: bool, snaps: dict | None = None, targets: list[Path] | None = None) -> list[str]:
    """Render (or, with ``check``, compare) every target; the problems, one line each."""
    snaps = load_snapshots() if snaps is None else snaps
    problems = []
    for path in targets or TARGETS:
        old = path.read_text()
        where = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
        new, found = render_text(old, snaps, where)
        problems += found
        if new != old:
            if check:
                problems.append(f"{where}: a marked table or value differs from its rendering (python docs/render.py)")
            else:
                path.write_text(new)
                print(f"rendered {where}")
    return problems


# ---------------------------------------------------------------------------- --snapshot


def _num(v: str):
    if v in ("", None):
        return None
    if v in ("True", "False"):
        return v == "True"
    try:
        f = float(v)
    except ValueError:
        return v
    return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: _num(v) for k, v in row.items()} for row in csv.DictReader(f)]


CLAIM_ROW = re.compile(r"^\| ([\d.]+) \| (.+?) \| (.*?) \| (.+?) \|$")
CLAIM_BULLET = re.compile(r"^- \*\*(.+?)\*\* (.*) \*\*Verdict: (.+?)\.\*\*$")


def parse_claims(summary_md: str, where: str) -> list[dict]:
    """The claims table and their result sentences, as rule summarize wrote them into summary.md."""
    if "## The study's claims, checked" not in summary_md:
        return []  # not the study's design: summary.md says why, and there are no verdicts
    part = summary_md.split("## The study's claims, checked", 1)[1]
    rows = [m.groups() for line in part.splitlines() if (m := CLAIM_ROW.match(line)) and m.group(1) != "section"]
    bullets = [m.groups() for line in part.splitlines() if (m := CLAIM_BULLET.match(line))]
    if not rows or len(rows) != len(bullets):
        raise SystemExit(
            f"{where}: expected the claims table and one result line per claim ({len(rows)} rows, "
            f"{len(bullets)} result lines): was it written by rule summarize?"
        )
    claims = []
    for (section, claim, tested, verdict), (claim2, result, verdict2) in zip(rows, bullets, strict=True):
        if claim != claim2 or verdict != verdict2:
            raise SystemExit(f"{where}: claim table and result lines disagree on '{claim}'")
        claims.append({"section": section, "claim": claim, "tested": tested, "result": result, "verdict": verdict})
    return claims


def _workdir(results: Path) -> Path | None:
    for d in [results, *results.parents]:
        if (d / ".snakemake" / "metadata").is_dir():
            return d
    return None


def job_times(results: Path) -> dict:
    """Wall time of the run that made ``results`` (first job start to last job end, the download
    excluded), its job count, and job-seconds per rule, from Snakemake's metadata."""
    workdir = _workdir(results.resolve())
    if workdir is None:
        raise SystemExit(f"{results}: no .snakemake/metadata above it; give the run's wall time with --runtime SECONDS")
    prefix = str(results.resolve().relative_to(workdir))
    jobs: dict[tuple, dict] = {}
    for f in (workdir / ".snakemake" / "metadata").iterdir():
        try:
            output = base64.b64decode(f.name.replace("@", "/") + "==", altchars=b"+/").decode()
            meta = json.loads(f.read_text())
        except (ValueError, UnicodeDecodeError, OSError):
            continue
        if not output.startswith(prefix) or meta.get("starttime") is None or meta.get("endtime") is None:
            continue
        key = (meta["rule"], meta.get("job_hash"), meta["endtime"])
        job = jobs.setdefault(key, {"rule": meta["rule"], "start": meta["starttime"], "end": meta["endtime"]})
        job["start"] = min(job["start"], meta["starttime"])
    jobs_list = [j for j in jobs.values() if j["rule"] != "download_dataset"]
    if not jobs_list:
        raise SystemExit(f"{results}: Snakemake's metadata names no job of this run; give --runtime SECONDS")
    rules: dict[str, dict] = {}
    for j in jobs_list:
        r = rules.setdefault(j["rule"], {"rule": j["rule"], "jobs": 0, "job_seconds": 0.0})
        r["jobs"] += 1
        r["job_seconds"] = round(r["job_seconds"] + j["end"] - j["start"], 1)
    wall = max(j["end"] for j in jobs_list) - min(j["start"] for j in jobs_list)
    return {
        "seconds": round(wall, 1),
        "jobs": len(jobs_list),
        "source": "Snakemake's job metadata: first job start to last job end, download excluded",
        "rules": sorted(rules.values(), key=lambda r: -r["job_seconds"]),
    }


def this_machine() -> dict:
    cpu = platform.processor() or platform.machine()
    flags = ""
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = next(ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name"))
        flags = next(ln for ln in info.splitlines() if ln.startswith("flags"))
    except (OSError, StopIteration):
        pass
    if "amx_bf16" in flags:
        cpu += " (AMX)"
    elif "avx512_bf16" in flags:
        cpu += " (AVX-512 BF16, no AMX)"
    import torch

    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem) if mem else None,
        "gpu": gpu,
        "torch": torch.__version__.split("+")[0] + ("" if gpu else " CPU"),
    }


def matmul_gflops(threads: int = 2) -> dict:
    """float32 torch.mm rate of 2048x2048 products on ``threads`` threads (bench/ae_speed.py's probe)."""
    sys.path.insert(0, str(REPO / "bench"))
    from ae_speed import matmul_gflops as probe
    from ae_speed import set_threads

    set_threads(threads)
    return {"threads": threads, "value": round(probe(), 1)}


def snapshot(results: Path, name: str, runtime: float | None) -> dict:
    results = Path(results)
    summary_csv, summary_md = results / "summary.csv", results / "summary.md"
    for p in (summary_csv, summary_md):
        if not p.is_file():
            raise SystemExit(f"{p}: missing; --snapshot needs a finished run's results/<dataset>/<experiment> folder")
    summary = read_csv(summary_csv)
    records = [json.loads(p.read_text()) for p in sorted(results.glob("metrics/*/*.json"))]
    commits = {r.get("provenance", {}).get("commit") for r in records} - {None}
    if len(commits) != 1:
        raise SystemExit(f"{results}/metrics: expected results of one commit, found {sorted(commits) or 'none'}")
    denoising_csv = results / "denoise" / "denoising.csv"
    run = (
        job_times(results)
        if runtime is None
        else {"seconds": runtime, "source": "--runtime", "jobs": None, "rules": []}
    )
    if runtime is not None:
        try:
            run.update({k: v for k, v in job_times(results).items() if k in ("jobs", "rules")})
        except SystemExit:
            pass
    commit = commits.pop()
    seeds = sorted({r["seed"] for r in records})
    dataset, experiment = results.resolve().parent.name, results.resolve().name
    return {
        "name": name,
        "provenance": "generated",
        "source": f"python docs/render.py --snapshot {results}",
        "commit": commit,
        "library_changed_since_commit": library_changes(
            [json.loads(p.read_text()) for p in sorted(results.rglob("*.json"))], commit
        ),
        "date": date.today().isoformat(),
        "machine": this_machine(),
        "matmul_gflops": matmul_gflops(),
        "load_average": round(os.getloadavg()[0], 1),
        "config": {"dataset": dataset, "experiment": experiment, "seeds": seeds},
        "run": run,
        "summary": summary,
        "claims": parse_claims(summary_md.read_text(), str(summary_md)),
        "denoising": read_csv(denoising_csv) if denoising_csv.is_file() else [],
    }


def library_changes(records: list[dict], commit: str) -> list[str]:
    """The library files whose bytes, as the run's metrics record them, differ from that commit's
    (the run was made from a checkout with uncommitted changes); empty when they all match."""
    recorded: dict[str, str] = {}
    for r in records:
        recorded.update(r.get("provenance", {}).get("library_files", {}))
    changed = []
    for name, digest in sorted(recorded.items()):
        blob = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{commit}:workflow/scripts/aeclust/{name}"], capture_output=True
        )
        if blob.returncode != 0 or hashlib.sha256(blob.stdout).hexdigest() != digest:
            changed.append(name)
    return changed


def write_snapshot(snap: dict, folder: Path = RESULTS) -> Path:
    path = folder / f"{snap['name']}.json"
    path.write_text(json.dumps(snap, indent=1, ensure_ascii=False) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 where a region differs")
    ap.add_argument("--snapshot", type=Path, metavar="RESULTS", help="build a snapshot from a finished run's folder")
    ap.add_argument("--name", default="study", help="snapshot name, docs/results/NAME.json (default: study)")
    ap.add_argument("--runtime", type=float, help="the run's wall time in s (default: from Snakemake's metadata)")
    args = ap.parse_args(argv)
    if args.snapshot:
        t0 = time.perf_counter()
        path = write_snapshot(snapshot(args.snapshot, args.name, args.runtime))
        print(f"wrote {path.relative_to(REPO)} ({time.perf_counter() - t0:.1f} s); now: python docs/render.py")
        return 0
    problems = render_all(args.check)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
