"""clusters.csv: every clustered image's cluster, per method and seed (and, for the
Gaussian mixture, the posterior probability of that cluster)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def column(method: str, seed: int, confidence: bool = False) -> str:
    """A clusters.csv column: ``kmeans/raw/s0`` (cluster id), ``gmm/ae_e2_umap/s0/confidence``."""
    return f"{method}/s{seed}" + ("/confidence" if confidence else "")


def clusters_table(runs: list[dict], label_names: list[str] | None = None) -> pd.DataFrame:
    """One row per image clustered by any run, keyed by its source: per run (method, seed)
    its cluster id and, where the method gives one, its confidence.

    ``runs``: dicts with ``method``, ``seed``, ``source`` (per image), ``clusters`` and
    optionally ``confidence`` and ``labels``. A seed that did not cluster an image (its own
    draw of images) leaves the cell empty. ``label`` (the class, when the data have labels) is kept.
    """
    order: dict[str, int] = {}
    for r in runs:
        for s in r["source"].tolist():
            order.setdefault(s, len(order))
    table = pd.DataFrame({"source": list(order)})
    labels = {}
    for r in runs:
        if "labels" in r and (np.asarray(r["labels"]) >= 0).all():
            names = label_names or []
            labels.update(
                {
                    s: (names[int(c)] if int(c) < len(names) else str(int(c)))
                    for s, c in zip(r["source"].tolist(), r["labels"])
                }
            )
    if labels:
        table["label"] = table["source"].map(labels)
    for r in runs:
        at = np.fromiter((order[s] for s in r["source"].tolist()), dtype=np.int64, count=len(r["source"]))
        ids = pd.array([pd.NA] * len(table), dtype="Int64")
        ids[at] = r["clusters"]
        table[column(r["method"], r["seed"])] = ids
        if r.get("confidence") is not None:
            conf = np.full(len(table), np.nan)
            conf[at] = r["confidence"]
            table[column(r["method"], r["seed"], True)] = np.round(conf, 4)
    return table
