"""Feature sets and clustering: pixels, PCA, K-Means, Gaussian mixtures.

scikit-learn (about 1 s to import, most of a small job's time) is imported by the
functions that run it: jobs that only read features (load_features) do without it.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

log = logging.getLogger("aeclust")


def pixels(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, 28, 28] -> float32 features [N, 784] in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def reduce_pca(features: np.ndarray, n_components: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """PCA fitted on ``features``; returns (reduced features, explained variance ratio)."""
    if n_components > min(features.shape):
        raise ValueError(
            f"pca.components: {n_components} asked for, the features allow at most {min(features.shape)} "
            f"({features.shape[0]} samples x {features.shape[1]} dimensions)"
        )
    from sklearn.decomposition import PCA

    pca = PCA(n_components=n_components, random_state=seed)
    reduced = pca.fit_transform(features)
    return reduced.astype(np.float32), pca.explained_variance_ratio_.astype(np.float32)


def kmeans(features: np.ndarray, k: int, n_init: int, max_iter: int, seed: int) -> tuple[np.ndarray, float]:
    """K-Means (k-means++ init, best of ``n_init``); returns (cluster ids, inertia)."""
    if len(features) < k:
        raise ValueError(f"kmeans.k: {k} clusters for {len(features)} images (allowed: 2..{len(features)})")
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, random_state=seed)
    assignments = km.fit_predict(features)
    return assignments.astype(np.int64), float(km.inertia_)


def gmm(
    features: np.ndarray, k: int, covariance_type: str, n_init: int, max_iter: int, seed: int
) -> tuple[np.ndarray, dict[str, float], np.ndarray]:
    """Gaussian mixture (EM from a k-means start, best likelihood of ``n_init``), as N2D
    fits it on a UMAP manifold.

    Returns (cluster ids, fit statistics: mean log-likelihood per sample, converged,
    iterations; each sample's confidence: the posterior probability of its component).
    Choosing among the restarts by likelihood never looks at the labels.
    """
    if len(features) < k:
        raise ValueError(f"kmeans.k: {k} components for {len(features)} images (allowed: 2..{len(features)})")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    model = GaussianMixture(
        n_components=k, covariance_type=covariance_type, n_init=n_init, max_iter=max_iter, random_state=seed
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        assignments = model.fit_predict(np.asarray(features, dtype=np.float64))
    for w in caught:
        log.warning("GaussianMixture: %s", w.message)
    stats = {
        "log_likelihood": float(model.lower_bound_),
        "converged": bool(model.converged_),
        "iterations": int(model.n_iter_),
    }
    confidence = model.predict_proba(np.asarray(features, dtype=np.float64)).max(axis=1).astype(np.float32)
    return assignments.astype(np.int64), stats, confidence


def load_features(path) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) from a features file or, for raw pixels, a subset file."""
    from .io import load_npz

    data = load_npz(path)
    if "features" in data:
        return data["features"], data["labels"]
    return pixels(data["images"]), data["labels"]
