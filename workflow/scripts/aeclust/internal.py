"""What a clustering says without labels: scikit-learn's internal criteria, cluster sizes,
and the images nearest each cluster's centre.

The criteria are computed in the feature space the method clustered (pixels, embeddings,
their PCA or UMAP), so they compare seeds of one method, not methods with each other:
each space has its own scale of distances.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .intervals import mean_sd_ci

CRITERIA = ("silhouette", "calinski_harabasz", "davies_bouldin")
BETTER = {"silhouette": "higher", "calinski_harabasz": "higher", "davies_bouldin": "lower"}


def criteria(features: np.ndarray, clusters: np.ndarray, sample_size: int | None, seed: int) -> dict:
    """Silhouette (on at most ``sample_size`` images, seeded), Calinski-Harabasz and
    Davies-Bouldin of one clustering, and its cluster sizes. With fewer than 2 clusters
    found the criteria are undefined (NaN)."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    ids, sizes = np.unique(clusters, return_counts=True)
    out = {
        "n": int(len(clusters)),
        "clusters_found": int(len(ids)),
        "sizes": {str(int(i)): int(s) for i, s in zip(ids, sizes)},
    }
    if not 2 <= len(ids) < len(clusters):
        return {**out, **{c: float("nan") for c in CRITERIA}}
    sample = None if sample_size is None or sample_size >= len(x) else int(sample_size)
    out["silhouette"] = float(silhouette_score(x, clusters, sample_size=sample, random_state=seed))
    out["calinski_harabasz"] = float(calinski_harabasz_score(x, clusters))
    out["davies_bouldin"] = float(davies_bouldin_score(x, clusters))
    return out


def internal_table(records: list[dict]) -> pd.DataFrame:
    """One row per method: each criterion's mean and sd over seeds, and the cluster sizes
    (smallest, largest, every seed's sorted sizes)."""
    rows = []
    for method in dict.fromkeys(r["method"] for r in records):
        rs = [r for r in records if r["method"] == method]
        row = {"method": method, "seeds": len(rs), "n": rs[0]["n"]}
        for c in CRITERIA:
            s = mean_sd_ci([r[c] for r in rs])
            row[f"{c}_mean"], row[f"{c}_sd"] = s["mean"], s["sd"]
        sizes = [sorted(r["sizes"].values(), reverse=True) for r in rs]
        row["clusters_found_min"] = min(r["clusters_found"] for r in rs)
        row["smallest_cluster"] = min(min(s) for s in sizes)
        row["largest_cluster"] = max(max(s) for s in sizes)
        row["sizes"] = "; ".join(f"s{r['seed']}: " + " ".join(map(str, s)) for r, s in zip(rs, sizes))
        rows.append(row)
    return pd.DataFrame(rows)


def internal_markdown(
    table: pd.DataFrame, seeds: list[int], dataset: str, k: int, skipped: int = 0, grids=(), labelled: bool = False
) -> str:
    """The report's page for a user's images: criteria per method, cluster sizes, grids."""
    from .methods import describe

    n = int(table["n"].iloc[0]) if len(table) else 0
    scored = (
        "Labelled data: accuracy, NMI and ARI are in summary.md."
        if labelled
        else "No labels: no accuracy, NMI, ARI or study claims."
    )
    lines = [
        f"# Clustering{'' if labelled else ' without labels'}: {dataset}",
        "",
        f"{n} images clustered into k = {k} clusters, {len(seeds)} seeds ({', '.join(map(str, seeds))}). {scored}",
    ]
    if skipped:
        lines += [
            "",
            f"{skipped} unreadable files were skipped (datasets.*.skip_unreadable; the import log names them).",
        ]
    lines += [
        "",
        "Internal criteria (scikit-learn), mean ± sd over seeds, each in the space the method clustered "
        "(so compare seeds of one method, not methods): silhouette in [-1, 1], higher is better; "
        "Calinski-Harabasz, higher is better; Davies-Bouldin, lower is better.",
        "",
        "| method | silhouette | Calinski-Harabasz | Davies-Bouldin | smallest / largest cluster |",
        "|---|---|---|---|---|",
    ]
    for _, row in table.iterrows():
        cells = [
            f"{row[f'{c}_mean']:.3f} ± {row[f'{c}_sd']:.3f}" if np.isfinite(row[f"{c}_mean"]) else "-" for c in CRITERIA
        ]
        lines.append(
            f"| {describe(row['method'])} (`{row['method']}`) | "
            + " | ".join(cells)
            + f" | {int(row['smallest_cluster'])} / {int(row['largest_cluster'])} |"
        )
    lines += ["", "Cluster sizes per seed (largest first):", ""]
    lines += [f"- `{row['method']}`: {row['sizes']}" for _, row in table.iterrows()]
    if grids:
        lines += [
            "",
            "Per-cluster example grids (the images nearest each cluster's centre, seed "
            f"{seeds[0]}): " + ", ".join(f"`{g}`" for g in grids),
        ]
    return "\n".join(lines) + "\n"


def nearest_to_centres(features: np.ndarray, clusters: np.ndarray, n: int) -> dict[int, np.ndarray]:
    """Cluster id -> indices of its (at most ``n``) members nearest its centre (the members'
    mean in the clustered space), nearest first."""
    x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    out = {}
    for c in np.unique(clusters):
        members = np.flatnonzero(clusters == c)
        d = np.linalg.norm(x[members] - x[members].mean(axis=0), axis=1)
        out[int(c)] = members[np.argsort(d, kind="stable")[:n]]
    return out
