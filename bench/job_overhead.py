#!/usr/bin/env python
"""Start-up cost of the workflow's jobs that run no network: wall time beyond their computation.

    python bench/job_overhead.py                  # runs config/tiny.yaml in a temporary folder first
    python bench/job_overhead.py --workdir DIR    # run it there (kept), or reuse the run already there

Snakemake runs a ``script:`` job as a fresh Python on a temporary copy of the script that
starts with its preamble (``sys.path``, the pickled ``snakemake`` object). The tiny config
is run once with ``--skip-script-cleanup``, which keeps those copies in .snakemake/scripts.
Then, one job at a time, for up to ``--per-rule`` jobs of each rule whose script calls
``script_setup`` without ``network=True``:

- wall: ``python <copy>`` in the run's folder, as Snakemake starts it (interpreter,
  preamble, imports, the computation, exit), the least of ``--repeat`` runs (on a
  shared machine, the least disturbed one);
- computation: the same copy run again inside one Python that has already run a job of
  that rule (every module imported, every cache warm), the least of ``--repeat`` runs;
- start-up = wall - computation. Target: <= 1.5 s.

Also printed: what every job pays before its script runs, ``python -c pass`` and a copy
whose script part is empty (the interpreter plus the preamble).

The copy's script part is replaced by this checkout's ``workflow/scripts/<name>.py`` and the
library of this checkout comes first on ``sys.path``, so a reused folder times the current
code. Snakemake's own scheduling around a job (not in the wall) is left out. The machine is
often shared: the load average is printed with the table; compare rules within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"
TARGET_S = 1.5
PREAMBLE_END = "######## snakemake preamble end #########\n"
COPY_NAME = re.compile(r"^tmp[^.]+\.(?P<script>\w+\.py)$")  # Snakemake's name for a kept copy
NETWORK = re.compile(r"script_setup\([^)]*network\s*=\s*True")

# argv: REPEAT COPY...; runs the first copy once untimed (to warm up), then each copy REPEAT
# times; one JSON line per copy with its least time.
WARM_RUNNER = r"""
import json, sys, time
out = sys.stdout  # the scripts send sys.stderr to their logs
def run(path):
    code = compile(open(path).read(), path, "exec")
    g = {"__name__": "__main__", "__file__": path}
    t = time.perf_counter()
    exec(code, g)
    return time.perf_counter() - t, g["snakemake"].rule
repeat, copies = int(sys.argv[1]), sys.argv[2:]
run(copies[0])
for path in copies:
    times, rule = zip(*(run(path) for _ in range(repeat)))
    out.write(json.dumps({"copy": path, "rule": rule[0], "seconds": min(times), "torch": "torch" in sys.modules}) + "\n")
"""


def runs_network(source: str) -> bool:
    """Whether a workflow script runs a network (``script_setup(..., network=True)``)."""
    return bool(NETWORK.search(source))


def job_copy(kept: str, source: str, scripts_dir: Path = SCRIPTS) -> str:
    """A kept copy with its script part replaced by ``source`` and ``scripts_dir`` first on sys.path."""
    if PREAMBLE_END not in kept:
        raise ValueError("no Snakemake preamble in this copy (its end marker is missing)")
    preamble = kept.split(PREAMBLE_END, 1)[0] + PREAMBLE_END
    return preamble + f"import sys; sys.path.insert(0, {str(scripts_dir)!r})\n" + source


def summary_rows(samples: list[dict], target: float = TARGET_S) -> list[dict]:
    """Per rule, from samples {rule, wall, computation, torch}: jobs, medians, start-up, met."""
    by_rule: dict[str, list[dict]] = {}
    for s in samples:
        by_rule.setdefault(s["rule"], []).append(s)
    rows = []
    for rule, ss in by_rule.items():
        startup = statistics.median(s["wall"] - s["computation"] for s in ss)
        rows.append(
            {
                "rule": rule,
                "jobs": len(ss),
                "wall": statistics.median(s["wall"] for s in ss),
                "computation": statistics.median(s["computation"] for s in ss),
                "startup": startup,
                "met": startup <= target,
                "torch": any(s["torch"] for s in ss),
            }
        )
    return sorted(rows, key=lambda r: -r["startup"])


def table(rows: list[dict], target: float = TARGET_S) -> str:
    lines = [
        f"| rule | jobs | median wall s | median computation s | median start-up s | target {target} s | torch |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    lines += [
        f"| {r['rule']} | {r['jobs']} | {r['wall']:.2f} | {r['computation']:.2f} | {r['startup']:.2f} | "
        f"{'yes' if r['met'] else 'no'} | {'yes' if r['torch'] else 'no'} |"
        for r in rows
    ]
    return "\n".join(lines)


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def run_tiny(workdir: Path, cores: int, mirror: str | None) -> None:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(REPO / "config" / "tiny.yaml"),
        "--cores",
        str(cores),
        "--skip-script-cleanup",
    ]
    env = {**os.environ, **({"AECLUST_MIRROR": mirror} if mirror else {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake (tiny config) failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def measure(workdir: Path, per_rule: int, repeat: int = 1) -> list[dict]:
    """Time up to ``per_rule`` kept jobs of each rule that runs no network (see the module's doc);
    a job's wall is the least of ``repeat`` fresh runs."""
    kept: dict[str, list[Path]] = {}
    for path in sorted((workdir / ".snakemake" / "scripts").glob("tmp*.py")):
        m = COPY_NAME.match(path.name)
        source = SCRIPTS / m["script"] if m else None
        if source is not None and source.is_file() and not runs_network(source.read_text()):
            kept.setdefault(m["script"], []).append(path)
    if not kept:
        raise SystemExit(
            f"no kept job scripts in {workdir}/.snakemake/scripts: run the workflow with --skip-script-cleanup"
        )
    copies_dir = Path(tempfile.mkdtemp(prefix="job-overhead-", dir=workdir))
    samples = []
    try:
        for script, paths in sorted(kept.items()):
            source = (SCRIPTS / script).read_text()
            copies = []
            for p in paths[:per_rule]:
                copy = copies_dir / p.name
                copy.write_text(job_copy(p.read_text(), source))
                copies.append(copy)
            runs: dict[str, list[float]] = {str(c): [] for c in copies}
            for _ in range(repeat):
                for copy in copies:
                    t = time.perf_counter()
                    proc = subprocess.run([sys.executable, str(copy)], cwd=workdir, capture_output=True, text=True)
                    runs[str(copy)].append(time.perf_counter() - t)
                    if proc.returncode != 0:
                        raise SystemExit(
                            f"{script} ({copy.name}) failed: see its log in {workdir}\n{proc.stderr[-2000:]}"
                        )
            walls = {c: min(w) for c, w in runs.items()}  # the least disturbed run
            proc = subprocess.run(
                [sys.executable, "-c", WARM_RUNNER, str(repeat), *map(str, copies)],
                cwd=workdir,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise SystemExit(f"{script}: the warm run failed: see its log in {workdir}\n{proc.stderr[-2000:]}")
            for line in proc.stdout.splitlines():
                r = json.loads(line)
                samples.append(
                    {"rule": r["rule"], "wall": walls[r["copy"]], "computation": r["seconds"], "torch": r["torch"]}
                )
            print(f"[job_overhead] {script}: {len(copies)} job(s) timed, load {_load()}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(copies_dir, ignore_errors=True)
    return samples


def floor(workdir: Path, repeat: int = 5) -> tuple[float, float]:
    """Median wall of ``python -c pass`` and of a kept copy with an empty script part (the
    interpreter plus Snakemake's preamble: ``sys.path``, unpickling the ``snakemake`` object)."""
    kept = next((workdir / ".snakemake" / "scripts").glob("tmp*.py"))
    with tempfile.NamedTemporaryFile("w", suffix=".py", dir=workdir, delete=False) as f:
        f.write(job_copy(kept.read_text(), ""))
    walls: dict[str, list[float]] = {"python": [], "preamble": []}
    try:
        for _ in range(repeat):
            for name, cmd in (("python", ["-c", "pass"]), ("preamble", [f.name])):
                t = time.perf_counter()
                subprocess.run([sys.executable, *cmd], cwd=workdir, check=True, capture_output=True)
                walls[name].append(time.perf_counter() - t)
    finally:
        os.unlink(f.name)
    return statistics.median(walls["python"]), statistics.median(walls["preamble"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--workdir",
        type=Path,
        help="run the tiny config here, or reuse the run already here (default: a temporary folder, removed after)",
    )
    ap.add_argument("--per-rule", type=int, default=3, help="jobs timed per rule (default 3)")
    ap.add_argument("--repeat", type=int, default=3, help="fresh runs per job, wall = the least of them (default 3)")
    ap.add_argument("--cores", type=int, default=2, help="snakemake --cores of the tiny run (default 2)")
    ap.add_argument(
        "--mirror",
        default=os.environ.get("AECLUST_MIRROR") or str(REPO.parent / "shared" / "data" / "mnist"),
        help="local MNIST mirror (default: $AECLUST_MIRROR, else ../shared/data/mnist)",
    )
    args = ap.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="aeclust-overhead-"))
    workdir.mkdir(parents=True, exist_ok=True)
    mirror = args.mirror if Path(args.mirror).is_dir() or "://" in args.mirror else None
    if mirror:
        os.environ["AECLUST_MIRROR"] = mirror  # the timed download_dataset job fetches from it too
    try:
        if not (workdir / ".snakemake" / "scripts").is_dir():
            print(f"[job_overhead] tiny config in {workdir} ...", file=sys.stderr, flush=True)
            run_tiny(workdir, args.cores, mirror)
        load_start = _load()
        python, preamble = floor(workdir)
        rows = summary_rows(measure(workdir, args.per_rule, args.repeat))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average (1/5/15 min): {load_start} at the start, {_load()} at the end; {os.cpu_count()} cores")
    print(f"every job: python start {python:.3f} s, with Snakemake's preamble {preamble:.3f} s (median of 5)")
    print(table(rows))
    met = sum(r["met"] for r in rows)
    print(f"\n{met} of {len(rows)} rules within {TARGET_S} s of start-up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
