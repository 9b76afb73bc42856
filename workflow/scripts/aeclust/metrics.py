"""Clustering metrics: Hungarian alignment of cluster ids to classes, accuracy, NMI, ARI.
Statistics over seeds are in :mod:`aeclust.intervals`."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, confusion_matrix, normalized_mutual_info_score


def contingency(labels: np.ndarray, clusters: np.ndarray, n_classes: int, n_clusters: int) -> np.ndarray:
    """Counts [class, cluster]."""
    return confusion_matrix(labels, clusters, labels=np.arange(max(n_classes, n_clusters)))[:n_classes, :n_clusters]


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
    cm = confusion_matrix(labels, predicted, labels=np.arange(n_classes))
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
