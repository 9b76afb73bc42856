"""Stratified, seeded subsets of a dataset split, with provenance indices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SubsetSpec:
    split: str  # train | test | all
    per_class: int | None  # None: every image of the split


def pool(split: str, n_train: int, n_test: int) -> np.ndarray:
    """Indices of a split into the concatenation train + test."""
    if split == "train":
        return np.arange(n_train)
    if split == "test":
        return np.arange(n_train, n_train + n_test)
    if split == "all":
        return np.arange(n_train + n_test)
    raise ValueError(f"subset split: expected train, test or all, got {split!r}")


def stratified_indices(
    labels: np.ndarray, candidates: np.ndarray, per_class: int | None, rng: np.random.Generator, what: str
) -> np.ndarray:
    """Draw ``per_class`` indices of each class among ``candidates`` (sorted result).

    Unlabelled images (one label for all, :data:`aeclust.images.UNLABELLED`) make this a
    plain seeded draw of ``per_class`` images.

    Raises ValueError naming ``what`` when a class has fewer candidates than asked.
    """
    if per_class is None:
        return np.sort(candidates)
    chosen = []
    for c in np.unique(labels):
        members = candidates[labels[candidates] == c]
        if len(members) < per_class:
            of = "" if c < 0 else f" of class {c}"  # negative: unlabelled images, one plain draw
            raise ValueError(f"{what}.per_class: {per_class} images{of} asked for, the split holds only {len(members)}")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def draw_seed(subsets_seed: int, replicate: int, per_replicate: bool = True) -> int | list[int]:
    """The seed of one replicate's draw: its own (``[subsets_seed, replicate]``) by default,
    or ``subsets_seed`` for every replicate (the fixed draw of earlier versions)."""
    return [subsets_seed, replicate] if per_replicate else subsets_seed


def make_subsets(
    images: np.ndarray,
    labels: np.ndarray,
    n_train: int,
    cluster: SubsetSpec,
    train: SubsetSpec,
    seed: int | list[int],
    exclude_cluster: bool = True,
) -> dict[str, np.ndarray]:
    """Draw the clustering and training subsets from ``images``/``labels`` (train + test concatenated).

    Returns a dict of index arrays into the concatenation: ``cluster`` and ``train``.
    With ``exclude_cluster`` the training subset never shares an image with the clustering subset.
    """
    rng = np.random.default_rng(seed)
    n_test = len(labels) - n_train
    cluster_idx = stratified_indices(
        labels, pool(cluster.split, n_train, n_test), cluster.per_class, rng, "subsets.cluster"
    )
    train_pool = pool(train.split, n_train, n_test)
    if exclude_cluster:
        train_pool = np.setdiff1d(train_pool, cluster_idx, assume_unique=True)
    train_idx = stratified_indices(labels, train_pool, train.per_class, rng, "subsets.train")
    for name, spec, idx in (("cluster", cluster, cluster_idx), ("train", train, train_idx)):
        if len(idx) == 0:
            raise ValueError(f"subsets.{name}: no images in split {spec.split} (train {n_train}, test {n_test} images)")
    return {"cluster": cluster_idx, "train": train_idx}


def split_of(indices: np.ndarray, n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """Provenance: (split name per index, index within that split)."""
    is_test = indices >= n_train
    return np.where(is_test, "test", "train"), np.where(is_test, indices - n_train, indices)
