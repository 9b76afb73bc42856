"""The summary table: one row per method, mean / sd / 95 % interval over seeds, and the
summary document (summary.md) that rule summarize writes.

The study's numbers (its column, the "reproduced" verdicts) appear only when the
experiment is the study's design (:func:`aeclust.study.design_differences` finds none); elsewhere one
line says why they are absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .claims import check_claims, claims_markdown
from .intervals import mean_sd_ci
from .methods import CLASSIFIER, describe
from .study import STUDY_ACCURACY, absent_line

# The classifier's label where it is scored on the images it was trained on.
ON_TRAINING = "supervised MLP, scored on its own training images (training accuracy, not a result)"


def summary_table(
    records: list[dict], dataset: str, study_design: bool = True, classifier_on_training: bool = False
) -> pd.DataFrame:
    """``records``: metrics dicts with method, seed, accuracy (and nmi, ari for clusterings).

    ``study_design``: attach the study's number and whether it lies inside our 95 %
    prediction interval for one run (columns ``study_accuracy``, ``study_in_pi``); without
    it those columns are absent. ``classifier_on_training``: the classifier is scored on
    its own training images, and its description says so."""
    study = STUDY_ACCURACY.get(dataset, {}) if study_design else {}
    rows = []
    methods = list(dict.fromkeys(r["method"] for r in records))
    for method in methods:
        rs = [r for r in records if r["method"] == method]
        description = ON_TRAINING if method == CLASSIFIER and classifier_on_training else describe(method)
        row = {"method": method, "description": description, "seeds": len(rs)}
        for key in ("accuracy", "nmi", "ari"):
            values = [r[key] for r in rs if key in r]
            if not values:
                continue
            s = mean_sd_ci(values)
            row.update(
                {
                    f"{key}_mean": s["mean"],
                    f"{key}_sd": s["sd"],
                    f"{key}_ci_low": s["ci_low"],
                    f"{key}_ci_high": s["ci_high"],
                }
            )
            if key == "accuracy":
                row.update(accuracy_pi_low=s["pi_low"], accuracy_pi_high=s["pi_high"])
        row["accuracy_min"] = min(r["accuracy"] for r in rs)
        row["accuracy_max"] = max(r["accuracy"] for r in rs)
        if study_design:
            row["study_accuracy"] = study.get(method, np.nan)
            inside = row["accuracy_pi_low"] <= row["study_accuracy"] <= row["accuracy_pi_high"]
            row["study_in_pi"] = bool(inside) if method in study and len(rs) > 1 else None
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(row: pd.Series, key: str) -> str:
    if f"{key}_mean" not in row or pd.isna(row.get(f"{key}_mean")):
        return "-"
    return (
        f"{row[f'{key}_mean']:.4f} ± {row[f'{key}_sd']:.4f} [{row[f'{key}_ci_low']:.4f}, {row[f'{key}_ci_high']:.4f}]"
    )


def _study_cell(row: pd.Series) -> str:
    if pd.isna(row["study_accuracy"]):
        return "-"
    if row["study_in_pi"] is None or pd.isna(row["study_in_pi"]):
        return f"{row['study_accuracy']:.4f} (one seed: no interval)"
    where = "inside" if row["study_in_pi"] else "outside"
    return f"{row['study_accuracy']:.4f} ({where} [{row['accuracy_pi_low']:.4f}, {row['accuracy_pi_high']:.4f}])"


def summary_markdown(table: pd.DataFrame, dataset: str, seeds: list[int], differences: list[str] | None = None) -> str:
    """The table of every method. With a ``study_accuracy`` column (the study's design) the
    study's number is shown beside our 95 % prediction interval for one run; without it,
    one line says why it is absent (``differences``: how the experiment differs)."""
    study = "study_accuracy" in table
    lines = [
        f"# Clustering results: {dataset}",
        "",
        f"Mean ± standard deviation [95 % t-interval of the mean] over {len(seeds)} seeds ({', '.join(map(str, seeds))}).",
        "Accuracy is after Hungarian alignment of cluster ids to classes.",
    ]
    if study:
        lines += [
            "The study's number (one run) is set beside our 95 % prediction interval for one new run, "
            "mean ± t(0.975, n-1) · sd · sqrt(1 + 1/n) over our n seeds."
        ]
    else:
        lines += [absent_line(differences or [], "The study's numbers")]
    header = "| method | accuracy | NMI | ARI | range |" + (" study [our 95 % prediction interval] |" if study else "")
    lines += ["", header, "|---|---|---|---|---|" + ("---|" if study else "")]
    for _, row in table.iterrows():
        cells = [
            f"{row['description']} (`{row['method']}`)",
            _fmt(row, "accuracy"),
            _fmt(row, "nmi"),
            _fmt(row, "ari"),
            f"{row['accuracy_min']:.4f}-{row['accuracy_max']:.4f}",
        ]
        if study:
            cells.append(_study_cell(row))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def published_markdown(table: pd.DataFrame, published: dict[str, float], dataset: str) -> str:
    """Our unsupervised methods (mean ± sd over seeds) and the papers' accuracies in one ranking.

    The papers report one number each (usually their best or mean run) on the same whole
    dataset; they have no spread to compare against, so the ranking is all this claims.
    The supervised classifier is not ranked: it is not clustering, and on the whole
    dataset it is scored on the images it was trained on."""
    ours = table[table["method"] != CLASSIFIER]
    rows = [
        (
            row["accuracy_mean"],
            f"{row['description']} (`{row['method']}`)",
            f"this run, {row['seeds']} seeds",
            f"{row['accuracy_mean']:.4f} ± {row['accuracy_sd']:.4f}",
            _fmt_point(row, "nmi"),
            _fmt_point(row, "ari"),
        )
        for _, row in ours.iterrows()
    ]
    rows += [(acc, name, "published", f"{acc:.3f}", "-", "-") for name, acc in published.items()]
    lines = [
        f"## Beside published results: {dataset}",
        "",
        "Accuracy on the same whole dataset; ours as mean ± sd over seeds, the papers' as they report it.",
    ]
    if (table["method"] == CLASSIFIER).any():
        lines += [
            "The supervised classifier (`classifier`) is not ranked here: it is not a clustering method, and it is "
            "scored on the images it was trained on."
        ]
    lines += ["", "| method | source | accuracy | NMI | ARI |", "|---|---|---|---|---|"]
    lines += [
        f"| {name} | {source} | {acc} | {nmi} | {ari} |"
        for _, name, source, acc, nmi, ari in sorted(rows, key=lambda r: -r[0])
    ]
    return "\n".join(lines) + "\n"


def _fmt_point(row: pd.Series, key: str) -> str:
    value = row.get(f"{key}_mean")
    return "-" if value is None or pd.isna(value) else f"{value:.4f} ± {row[f'{key}_sd']:.4f}"


def summary_document(
    records: list[dict],
    dataset: str,
    seeds: list[int],
    differences: list[str],
    published: dict[str, float],
    sweep: pd.DataFrame | None = None,
    denoising: pd.DataFrame | None = None,
    classifier_on_training: bool = False,
) -> tuple[pd.DataFrame, str, list]:
    """summary.csv's table, summary.md's text and the claims checked (empty where the
    experiment is not the study's design: ``differences`` lists how it differs)."""
    design = not differences
    table = summary_table(records, dataset, design, classifier_on_training)
    parts = [summary_markdown(table, dataset, seeds, differences)]
    if published:  # only when we cluster the whole dataset, as the papers did
        parts.append(published_markdown(table, published, dataset))
    claims = check_claims(records, dataset, sweep, denoising) if design else []
    if design:
        parts.append(claims_markdown(claims, seeds))
    else:
        parts.append("## The study's claims\n\n" + absent_line(differences, "Verdicts on the study's claims") + "\n")
    return table, "\n".join(parts), claims
