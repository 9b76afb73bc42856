"""The summary table: one row per method, mean / sd / 95 % interval over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .metrics import mean_sd_ci
from .study import STUDY_ACCURACY, describe


def summary_table(records: list[dict], dataset: str) -> pd.DataFrame:
    """``records``: metrics dicts with method, seed, accuracy (and nmi, ari for clusterings)."""
    study = STUDY_ACCURACY.get(dataset, {})
    rows = []
    methods = list(dict.fromkeys(r["method"] for r in records))
    for method in methods:
        rs = [r for r in records if r["method"] == method]
        row = {"method": method, "description": describe(method), "seeds": len(rs)}
        for key in ("accuracy", "nmi", "ari"):
            values = [r[key] for r in rs if key in r]
            if not values:
                continue
            s = mean_sd_ci(values)
            row.update({f"{key}_mean": s["mean"], f"{key}_sd": s["sd"], f"{key}_ci_low": s["ci_low"], f"{key}_ci_high": s["ci_high"]})
        row["accuracy_min"] = min(r["accuracy"] for r in rs)
        row["accuracy_max"] = max(r["accuracy"] for r in rs)
        row["study_accuracy"] = study.get(method, np.nan)
        row["study_in_ci"] = bool(row["accuracy_ci_low"] <= row["study_accuracy"] <= row["accuracy_ci_high"]) if method in study else None
        rows.append(row)
    return pd.DataFrame(rows)


def compare(records: list[dict], a: str, b: str, key: str = "accuracy", confidence: float = 0.95) -> dict:
    """Welch t-test of method ``b`` against ``a`` over seeds: difference (b - a), p-value and
    the Welch t-interval of the difference (``ci_low``, ``ci_high``; NaN with fewer than 2 seeds)."""
    x = [r[key] for r in records if r["method"] == a]
    y = [r[key] for r in records if r["method"] == b]
    return welch(np.mean(x), np.std(x, ddof=1) if len(x) > 1 else 0.0, len(x),
                 np.mean(y), np.std(y, ddof=1) if len(y) > 1 else 0.0, len(y), confidence)


def welch(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int, confidence: float = 0.95) -> dict:
    """Welch comparison of b against a from summary statistics: diff (b - a), p, ci_low, ci_high, df.

    With no spread on either side (sd 0) the difference is exact: the interval is the point and
    p is 0 (different) or 1 (equal). With fewer than 2 values on a side everything but diff is NaN."""
    diff = float(mean_b - mean_a)
    nan = float("nan")
    if n_a < 2 or n_b < 2:
        return {"diff": diff, "p": nan, "ci_low": nan, "ci_high": nan, "df": nan, "n_a": n_a, "n_b": n_b}
    va, vb = sd_a**2 / n_a, sd_b**2 / n_b
    se = float(np.sqrt(va + vb))
    if se == 0.0:
        return {"diff": diff, "p": float(diff == 0.0), "ci_low": diff, "ci_high": diff, "df": nan, "n_a": n_a, "n_b": n_b}
    df = float((va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1)))
    half = float(stats.t.ppf(0.5 + confidence / 2, df) * se)
    p = float(2 * stats.t.sf(abs(diff) / se, df))
    return {"diff": diff, "p": p, "ci_low": diff - half, "ci_high": diff + half, "df": df, "n_a": n_a, "n_b": n_b}


def _fmt(row: pd.Series, key: str) -> str:
    if f"{key}_mean" not in row or pd.isna(row.get(f"{key}_mean")):
        return "-"
    return f"{row[f'{key}_mean']:.4f} ± {row[f'{key}_sd']:.4f} [{row[f'{key}_ci_low']:.4f}, {row[f'{key}_ci_high']:.4f}]"


def summary_markdown(table: pd.DataFrame, dataset: str, seeds: list[int]) -> str:
    lines = [
        f"# Clustering results: {dataset}",
        "",
        f"Mean ± standard deviation [95 % t-interval of the mean] over {len(seeds)} seeds ({', '.join(map(str, seeds))}).",
        "Accuracy is after Hungarian alignment of cluster ids to classes.",
        "",
        "| method | accuracy | NMI | ARI | range | study |",
        "|---|---|---|---|---|---|",
    ]
    for _, row in table.iterrows():
        study = "-" if pd.isna(row["study_accuracy"]) else f"{row['study_accuracy']:.4f}" + (" (inside CI)" if row["study_in_ci"] else " (outside CI)")
        lines.append(
            f"| {row['description']} (`{row['method']}`) | {_fmt(row, 'accuracy')} | {_fmt(row, 'nmi')} | {_fmt(row, 'ari')} "
            f"| {row['accuracy_min']:.4f}-{row['accuracy_max']:.4f} | {study} |"
        )
    return "\n".join(lines) + "\n"


def published_markdown(table: pd.DataFrame, published: dict[str, float], dataset: str) -> str:
    """Our methods (mean ± sd over seeds) and the papers' accuracies in one ranking.

    The papers report one number each (usually their best or mean run) on the same whole
    dataset; they have no spread to compare against, so the ranking is all this claims."""
    rows = [(row["accuracy_mean"], f"{row['description']} (`{row['method']}`)", f"this run, {row['seeds']} seeds",
             f"{row['accuracy_mean']:.4f} ± {row['accuracy_sd']:.4f}", _fmt_point(row, "nmi"), _fmt_point(row, "ari"))
            for _, row in table.iterrows()]
    rows += [(acc, name, "published", f"{acc:.3f}", "-", "-") for name, acc in published.items()]
    lines = [
        f"## Beside published results: {dataset}",
        "",
        "Accuracy on the same whole dataset; ours as mean ± sd over seeds, the papers' as they report it.",
        "",
        "| method | source | accuracy | NMI | ARI |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {name} | {source} | {acc} | {nmi} | {ari} |" for _, name, source, acc, nmi, ari in sorted(rows, key=lambda r: -r[0])]
    return "\n".join(lines) + "\n"


def _fmt_point(row: pd.Series, key: str) -> str:
    value = row.get(f"{key}_mean")
    return "-" if value is None or pd.isna(value) else f"{value:.4f} ± {row[f'{key}_sd']:.4f}"
