"""N2D's manifold: a UMAP embedding of a feature set.

McConville et al. (N2D) cluster autoencoder embeddings by first learning a UMAP
manifold of them (few dimensions, ``min_dist=0`` so clusters pack tightly) and then
fitting a Gaussian mixture (:func:`aeclust.cluster.gmm`). The embedding takes plain
float arrays, so it runs on any feature set (pixels, embeddings, PCA of embeddings).
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
