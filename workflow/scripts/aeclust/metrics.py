"""Clustering metrics: Hungarian alignment of cluster ids to classes, accuracy, NMI, ARI.
Statistics over seeds are in :mod:`aeclust.intervals`.

NMI and ARI are scikit-learn's formulas (``normalized_mutual_info_score`` with the
arithmetic mean, ``adjusted_rand_score``) on a dense contingency table in numpy:
importing scikit-learn took most of an align_clusters job's time (tests/test_metrics.py
checks the numbers against scikit-learn's).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment


def counts(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """Counts [a, b] of two integer labellings; ids outside [0, n_a) and [0, n_b) are not counted."""
    a, b = np.asarray(a).astype(np.int64), np.asarray(b).astype(np.int64)
    keep = (a >= 0) & (a < n_a) & (b >= 0) & (b < n_b)
    return np.bincount(a[keep] * n_b + b[keep], minlength=n_a * n_b).reshape(n_a, n_b)


def contingency(labels: np.ndarray, clusters: np.ndarray, n_classes: int, n_clusters: int) -> np.ndarray:
    """Counts [class, cluster]."""
    return counts(labels, clusters, n_classes, n_clusters)


def _table(labels: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Counts [class, cluster] over the distinct values of each labelling (any ids)."""
    _, a = np.unique(labels, return_inverse=True)
    _, b = np.unique(clusters, return_inverse=True)
    n_a, n_b = (int(x.max()) + 1 if len(x) else 0 for x in (a, b))
    return counts(a.ravel(), b.ravel(), n_a, n_b)


def _entropy(sizes: np.ndarray) -> float:
    pi = sizes[sizes > 0].astype(np.float64)
    if pi.size == 1:
        return 0.0
    pi_sum = np.sum(pi)
    return float(-np.sum((pi / pi_sum) * (np.log(pi) - math.log(pi_sum))))


def nmi(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Normalised mutual information, normalised by the arithmetic mean of the two entropies."""
    table = _table(labels, clusters)
    if table.shape[0] == table.shape[1] <= 1:  # no split of the data (or none): a perfect match
        return 1.0
    if min(table.shape) == 1:
        return 0.0
    rows, cols = np.nonzero(table)
    nz = table[rows, cols].astype(np.float64)
    total = nz.sum()
    pi, pj = table.sum(axis=1), table.sum(axis=0)
    p = nz / total
    log_outer = -np.log(pi[rows].astype(np.int64) * pj[cols].astype(np.int64)) + math.log(pi.sum()) + math.log(pj.sum())
    mi = p * (np.log(nz) - math.log(total)) + p * log_outer
    mi = float(np.clip(np.where(np.abs(mi) < np.finfo(mi.dtype).eps, 0.0, mi).sum(), 0.0, None))
    if mi == 0:
        return 0.0
    return float(mi / np.mean([_entropy(pi), _entropy(pj)]))


def ari(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Adjusted Rand index, from the pair counts of the contingency table (exact integers)."""
    table = _table(labels, clusters)
    n = int(table.sum())
    n_c, n_k = table.sum(axis=1), table.sum(axis=0)
    squares = int((table**2).sum())
    tp = squares - n
    fp = int((table @ n_k).sum()) - squares
    fn = int((table.T @ n_c).sum()) - squares
    tn = n**2 - fp - fn - squares
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def align(labels: np.ndarray, clusters: np.ndarray, n_classes: int = 10) -> dict[int, int]:
    """Map each cluster id to a class, maximising agreement (Hungarian algorithm).

    With more clusters than classes, the unmatched clusters go to their majority class.
    """
    n_clusters = int(max(clusters.max() + 1, n_classes))
    table = contingency(labels, clusters, n_classes, n_clusters)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = {int(c): int(r) for r, c in zip(rows, cols)}
    for c in range(n_clusters):
        mapping.setdefault(c, int(table[:, c].argmax()))
    return mapping


def evaluate(labels: np.ndarray, clusters: np.ndarray, n_classes: int = 10) -> tuple[dict, np.ndarray]:
    """Aligned metrics and the aligned confusion matrix [true class, predicted class]."""
    mapping = align(labels, clusters, n_classes)
    predicted = np.array([mapping[int(c)] for c in clusters])
    cm = counts(labels, predicted, n_classes, n_classes)
    recall = np.divide(np.diag(cm), cm.sum(axis=1), out=np.zeros(n_classes), where=cm.sum(axis=1) > 0)
    metrics = {
        "accuracy": float(np.trace(cm) / cm.sum()),
        "nmi": nmi(labels, clusters),
        "ari": ari(labels, clusters),
        "per_class_recall": [float(r) for r in recall],
        "mapping": {str(k): v for k, v in sorted(mapping.items())},
        "n": int(len(labels)),
    }
    return metrics, cm
