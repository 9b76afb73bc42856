"""N2D's second half: a UMAP manifold of a feature set, and Gaussian-mixture clustering.

McConville et al. (N2D) cluster autoencoder embeddings by first learning a UMAP
manifold of them (few dimensions, ``min_dist=0`` so clusters pack tightly) and then
fitting a Gaussian mixture. Both steps here take plain float arrays, so they run on
any feature set (pixels, embeddings, PCA of embeddings).
"""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np

log = logging.getLogger("aeclust")


class _LogLines:
    """A file for tqdm: each progress line it writes becomes one log line."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def write(self, text: str) -> None:
        text = text.strip("\r\n ")
        if text:
            log.info("%s%s", self.prefix, text)

    def flush(self) -> None:
        pass


def embed_umap(
    features: np.ndarray,
    n_components: int,
    n_neighbors: int,
    min_dist: float,
    metric: str,
    seed: int | None,
    threads: int = 1,
) -> np.ndarray:
    """UMAP of ``features`` [N, D] to [N, n_components] float32.

    ``seed`` fixes umap-learn's ``random_state``: the result is then reproducible, and
    umap-learn runs single-threaded (about 30 % slower). ``seed=None`` runs on
    ``threads`` threads and is not reproducible.
    """
    n = len(features)
    if not 2 <= n_neighbors < n:
        raise ValueError(f"umap.n_neighbors: {n_neighbors} neighbours for {n} samples (allowed: 2..{n - 1})")
    if not 1 <= n_components < n - 1:
        raise ValueError(f"umap.n_components: {n_components} dimensions for {n} samples (allowed: 1..{n - 2})")
    import numba
    import umap  # slow import (numba); only the steps that embed pay for it

    threads = 1 if seed is not None else max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(threads)
    # Progress: umap-learn's layout loop reports through tqdm (here to the log, at most every
    # 15 s, with rate and time left); its nearest-neighbour search has no progress to report
    # (its verbose output comes from compiled code, straight to the terminal): timed instead.
    reducer = umap.UMAP(
        n_components=n_components,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        metric=metric,
        random_state=seed,
        n_jobs=threads,
        tqdm_kwds={
            "disable": False,
            "file": _LogLines("UMAP layout: "),
            "mininterval": 15.0,
            "ascii": True,
            "unit": " epochs",
            "bar_format": "{n_fmt}/{total_fmt} epochs [{elapsed} spent, about {remaining} left, {rate_fmt}]",
        },
    )
    log.info("UMAP of %d x %d features: nearest neighbours, then the layout", n, features[0].size)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        embedding = reducer.fit_transform(np.ascontiguousarray(features, dtype=np.float32))
    for w in caught:
        log.warning("umap-learn: %s", w.message)
    log.info("UMAP done in %.1f s (%.0f samples/s)", time.perf_counter() - t0, n / (time.perf_counter() - t0))
    embedding = np.asarray(embedding, dtype=np.float32)
    if not np.isfinite(embedding).all():
        raise ValueError(f"UMAP produced non-finite coordinates for {n} samples (duplicate-heavy input?)")
    return embedding


def gmm(
    features: np.ndarray, k: int, covariance_type: str, n_init: int, max_iter: int, seed: int
) -> tuple[np.ndarray, dict[str, float]]:
    """Gaussian mixture (EM from a k-means start, best likelihood of ``n_init``).

    Returns (cluster ids, fit statistics: mean log-likelihood per sample, converged, iterations).
    Choosing among the restarts by likelihood never looks at the labels.
    """
    assignments, stats, _ = gmm_with_confidence(features, k, covariance_type, n_init, max_iter, seed)
    return assignments, stats


def gmm_with_confidence(
    features: np.ndarray, k: int, covariance_type: str, n_init: int, max_iter: int, seed: int
) -> tuple[np.ndarray, dict[str, float], np.ndarray]:
    """:func:`gmm`, plus each sample's confidence: the posterior probability of its component."""
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
