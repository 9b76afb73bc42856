"""Clustering metrics: Hungarian alignment of cluster ids to classes, accuracy, NMI, ARI.
Statistics over seeds are in :mod:`aeclust.intervals`.

NMI and ARI are scikit-learn's, imported by :func:`evaluate` (the only function that
needs them), so that importing this module for the alignment alone stays light.
"""

from __future__ import annotations

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
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    mapping = align(labels, clusters, n_classes)
    predicted = np.array([mapping[int(c)] for c in clusters])
    cm = counts(labels, predicted, n_classes, n_classes)
    recall = np.divide(np.diag(cm), cm.sum(axis=1), out=np.zeros(n_classes), where=cm.sum(axis=1) > 0)
    metrics = {
        "accuracy": float(np.trace(cm) / cm.sum()),
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "ari": float(adjusted_rand_score(labels, clusters)),
        "per_class_recall": [float(r) for r in recall],
        "mapping": {str(k): v for k, v in sorted(mapping.items())},
        "n": int(len(labels)),
    }
    return metrics, cm
