"""The tables of docs/results.md from one full run's files (bench/full_run.sh).

    python bench/full_table.py results/mnist/full-bench [bench/out/mnist-full-bench/timings.tsv]

Prints markdown: accuracy / NMI / ARI per method (mean ± sd over seeds, every seed's
accuracy), the autoencoder's training speed per seed (median over epochs, from the
training log fit writes), and time per rule from Snakemake's benchmark files.

Refuses (exit 1, one line per reason) to put results made by different code into one
table: every settings and metrics JSON records the commit and the hash of each library
file its job ran (aeclust.provenance); one file with two hashes, or a result without
provenance, stops it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))  # the library (not installed)
from aeclust.provenance import conflicts  # noqa: E402
from aeclust.summary import summary_table  # noqa: E402


def code_conflicts(results: Path) -> list[str]:
    """Why the results under ``results`` were not all made by the same code (empty: they were)."""
    paths = [*sorted(results.glob("models/*.json")), *sorted(results.glob("metrics/**/*.json"))]
    return conflicts({str(p.relative_to(results)): json.loads(p.read_text()) for p in paths})


def clustering_table(results: Path) -> str:
    records = [json.loads(p.read_text()) for p in sorted(results.glob("metrics/*/*.json"))]
    records.sort(key=lambda r: (r["method"], r["seed"]))
    table = summary_table(records, dataset="", study_design=False)
    lines = ["| method | accuracy | NMI | ARI | accuracy per seed |", "|---|---|---|---|---|"]
    for _, row in table.iterrows():
        seeds = ", ".join(f"{r['accuracy']:.4f}" for r in records if r["method"] == row["method"])
        cells = [f"{row[f'{k}_mean']:.4f} ± {row[f'{k}_sd']:.4f}" for k in ("accuracy", "nmi", "ari")]
        lines.append(f"| {row['description']} (`{row['method']}`) | {' | '.join(cells)} | {seeds} |")
    return "\n".join(lines)


def training_table(results: Path) -> str:
    lines = [
        "| model | epochs | final loss | samples/s (median) | GFLOP/s (median, fit's 3x-forward count) |",
        "|---|---|---|---|---|",
    ]
    for path in sorted(results.glob("models/ae_e*_s*_loss.tsv")):
        h = pd.read_csv(path, sep="\t")
        gflops = f"{h['gflops'].median():.1f}" if "gflops" in h else "-"
        lines.append(
            f"| {path.name.removesuffix('_loss.tsv')} | {len(h)} | {h['loss'].iloc[-1]:.5f} "
            f"| {h['samples_per_s'].median():,.0f} | {gflops} |"
        )
    return "\n".join(lines)


def rule_times(results: Path) -> str:
    rows = []
    for path in sorted(results.glob("benchmarks/*/*.tsv")):
        b = pd.read_csv(path, sep="\t")
        rows.append(
            {
                "rule": path.parent.name,
                "job": path.stem,
                "wall_s": b["s"].iloc[0],
                "cpu_s": b["cpu_time"].iloc[0],
                "max_rss_mb": b["max_rss"].iloc[0],
            }
        )
    df = pd.DataFrame(rows)
    lines = ["| rule | job | wall s | CPU s | max RSS MB |", "|---|---|---|---|---|"]
    lines += [f"| {r.rule} | {r.job} | {r.wall_s:.0f} | {r.cpu_s:.0f} | {r.max_rss_mb:.0f} |" for r in df.itertuples()]
    return "\n".join(lines)


def main() -> None:
    results = Path(sys.argv[1])
    problems = code_conflicts(results)
    if problems:
        sys.exit(f"{results}: results made by different code, not mixing them in one table:\n" + "\n".join(problems))
    parts = [f"## {results}", "", clustering_table(results), "", training_table(results), "", rule_times(results)]
    if len(sys.argv) > 2:
        t = pd.read_csv(sys.argv[2], sep="\t")
        parts += ["", "| step | wall s | load before | load after | torch.mm GFLOP/s after |", "|---|---|---|---|---|"]
        parts += [
            f"| {r.step} | {r.wall_s:.0f} | {r.load_before} | {r.load_after} | {r.matmul_gflops} |"
            for r in t.itertuples()
        ]
    print("\n".join(parts))


if __name__ == "__main__":
    main()
