"""The pool of images a study draws from (MNIST's IDX files or a user's imported images),
and its stratified, seeded subsets with provenance indices."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .images import ImageDataError

log = logging.getLogger("aeclust")


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


# ---- the pool ---------------------------------------------------------------------------


@dataclass
class Pool:
    """Every image a study may draw: the training part first, then the test part (MNIST's
    train + test), with each image's label and source."""

    images: np.ndarray  # uint8 [N, H, W] or [N, C, H, W]
    labels: np.ndarray  # int [N]; -1 for every image of unlabelled data
    source: np.ndarray  # str [N]: "file[index]" of an IDX file or array, or the image's path in its folder
    n_train: int
    n_classes: int  # 0 without labels
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # saved with every subset
    note: str = ""  # where the split came from, for the log


def holdout_split(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """``train`` / ``test`` per image: a seeded ``fraction`` of each class (of all images
    when unlabelled) held out as ``test``, at least one per class when fraction > 0."""
    split = np.full(len(labels), "train", dtype="<U5")
    if fraction <= 0:
        return split
    rng = np.random.default_rng(seed)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n = max(1, int(round(fraction * len(members))))
        if n >= len(members):
            raise ImageDataError(f"holdout: {fraction} of {len(members)} images of class {c} leaves none to train on")
        split[rng.choice(members, size=n, replace=False)] = "test"
    return split


def as_pool(data: dict[str, np.ndarray], split: np.ndarray) -> tuple[dict[str, np.ndarray], int]:
    """Imported images reordered train part first, then test (the order of MNIST's
    train + test); returns (arrays, number of training images)."""
    order = np.concatenate([np.flatnonzero(split == "train"), np.flatnonzero(split == "test")])
    arrays = {k: data[k][order] for k in ("images", "labels", "source")}
    arrays["split"] = split[order]
    return arrays, int((split == "train").sum())


def load_pool(
    idx: Sequence[str | os.PathLike] | None = None,
    images: str | os.PathLike | None = None,
    holdout: float = 0.0,
    seed: int = 0,
) -> Pool:
    """The pool of either source: ``idx``, the four IDX files (train images, train labels,
    test images, test labels), or ``images``, the file import_images wrote, split by its
    own ``split`` array when it has one, else by a ``holdout`` fraction drawn with ``seed``."""
    if (idx is None) == (images is None):
        raise ValueError("load_pool: give the IDX files or the imported images, not both or neither")
    from .io import load_npz

    if idx is not None:
        from .idx import read_images_labels

        tr_img, tr_lab, te_img, te_lab = (os.fspath(p) for p in idx)
        train_images, train_labels = read_images_labels(tr_img, tr_lab)
        test_images, test_labels = read_images_labels(te_img, te_lab)
        labels = np.concatenate([train_labels, test_labels])
        n_train = len(train_labels)
        names = [os.path.basename(tr_img), os.path.basename(te_img)]
        source = np.array([f"{names[i >= n_train]}[{i if i < n_train else i - n_train}]" for i in range(len(labels))])
        return Pool(np.concatenate([train_images, test_images]), labels, source, n_train, 10)
    data = load_npz(images)
    own = "split" in data
    split = data["split"] if own else holdout_split(data["labels"], holdout, seed)
    arrays, n_train = as_pool(data, split)
    n = len(arrays["labels"])
    how = "the array's split" if own else f"holdout {holdout}"
    return Pool(
        arrays["images"],
        arrays["labels"],
        arrays["source"],
        n_train,
        len(data["label_names"]),
        extra={"label_names": data["label_names"]},  # class id -> the user's class name
        note=f"{n} images: {n_train} train, {n - n_train} test ({how})",
    )


def draw_replicate(
    pool: Pool, settings: dict, replicate: int, deskew: bool = False
) -> dict[str, dict[str, np.ndarray]]:
    """The clustering and training subsets of one replicate seed, as the arrays each subset
    file holds. ``settings``: the config's ``subsets`` (seed, per_replicate, cluster, train);
    ``deskew``: straighten the drawn images (:func:`aeclust.preprocess.deskew`)."""
    spec = {k: SubsetSpec(settings[k]["split"], settings[k]["per_class"]) for k in ("cluster", "train")}
    draw = draw_seed(settings["seed"], int(replicate), settings["per_replicate"])
    log.info("draw seed %s (subsets.seed %d, per_replicate %s)", draw, settings["seed"], settings["per_replicate"])
    drawn = make_subsets(
        pool.images,
        pool.labels,
        pool.n_train,
        spec["cluster"],
        spec["train"],
        draw,
        settings["train"]["exclude_cluster"],
    )

    def pixels(idx: np.ndarray) -> np.ndarray:
        return pool.images[idx]

    if deskew:  # each image by its own pixels, so only the drawn ones, each once; the pool is left as it is
        from .preprocess import deskew as deskew_images

        used = np.unique(np.concatenate(list(drawn.values())))
        straight = deskew_images(pool.images[used])
        log.info("deskewed and centred the %d drawn images by their moments (subsets.deskew)", len(used))

        def pixels(idx: np.ndarray) -> np.ndarray:
            return straight[np.searchsorted(used, idx)]

    out = {}
    for name, idx in drawn.items():
        split, index_in_split = split_of(idx, pool.n_train)
        out[name] = {
            "images": pixels(idx),
            "labels": pool.labels[idx],
            "split": split,
            "index": index_in_split,
            "source": pool.source[idx],
            **pool.extra,
        }
    return out
