"""Self-labeling: a clustering's confident pseudo-labels train a classifier that relabels every image.

1. **Select** the images whose cluster id is trusted, by a label-free criterion:
   ``knn``: at least a fraction ``threshold`` of the image's ``k`` nearest neighbours in a
   feature space (the autoencoder's codes by default) carry its cluster id; ``posterior``:
   the posterior of its own cluster is at least ``threshold``; ``margin``: that posterior
   exceeds every other cluster's by at least ``threshold``. In the first round the
   posteriors are those of one Gaussian per cluster fitted in the feature space (for the
   space a mixture clustered, its own posteriors); later, the classifier's softmax.
2. **Train** a small CNN (two 3x3 conv blocks with batch norm and max-pool, one hidden
   layer) on the selected images and their cluster ids, with seeded augmentation
   (:mod:`aeclust.augment`), Adam under a one-cycle learning-rate schedule, bfloat16 autocast
   where native, channels_last.
3. **Predict** every image: the new cluster id (argmax) and its confidence (softmax max).
4. **Rounds**: re-select from the classifier's own predictions (kNN agreement in its
   penultimate features, or its softmax) and train a fresh CNN; ``rounds`` CNNs in all.

Nothing here takes class labels: the functions see images, cluster ids and features only.
Why kNN agreement and not the mixture's posterior: on UMAP output the posteriors are ~1
almost everywhere and cannot tell right pseudo-labels from wrong (docs/results.md, what was tried).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from .augment import Augment, AugmentConfig
from .train import FitConfig, TrainingError, fit, predict

log = logging.getLogger("aeclust")

CRITERIA = ("knn", "posterior", "margin")
SCHEDULES = ("onecycle", "constant")


class SelectionError(ValueError):
    """The criterion kept too few images to train on, with a one-line reason naming the setting."""


@dataclass(frozen=True)
class SelfLabelConfig:
    criterion: str = "knn"  # knn | posterior | margin
    k: int = 20  # knn: neighbours (the image itself not counted)
    threshold: float = 1.0  # knn: fraction of neighbours agreeing; posterior / margin: least value kept
    rounds: int = 1  # CNNs trained one after the other, each on the previous one's confident predictions
    epochs: int = 8
    batch_size: int = 256
    lr: float = 2e-3  # Adam; the peak of the one-cycle schedule
    schedule: str = "onecycle"  # onecycle | constant
    channels: tuple[int, int] = (32, 64)
    hidden: int = 128
    precision: str = "fp32"  # fp32 | bf16 (resolved: see aeclust.runtime.resolve_precision)
    bn_recalibrate: bool = True  # after training, batch-norm statistics from the un-augmented training images
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self):
        # The config keys are checked when the workflow loads its config (aeclust.config, the
        # schema); the defaults above equal config/config.yaml's (tests/test_config.py). What is
        # left is the one value the config does not hold: the precision, resolved.
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"selflabel.precision: expected fp32 or bf16 (resolve auto first), got {self.precision!r}")

    @classmethod
    def from_settings(cls, settings: dict[str, Any], **overrides: Any) -> SelfLabelConfig:
        """From the workflow's ``selflabel`` settings (keys that are not training settings ignored)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in {**settings, **overrides}.items() if k in names}
        if "channels" in kw:
            kw["channels"] = tuple(kw["channels"])
        if "augment" in kw and not isinstance(kw["augment"], AugmentConfig):
            kw["augment"] = AugmentConfig.from_dict(kw["augment"])
        return cls(**kw)


# ---------------------------------------------------------------- selection


def knn_agreement(features: np.ndarray, assignments: np.ndarray, k: int, threads: int = 1) -> np.ndarray:
    """For each image, the fraction of its ``k`` nearest neighbours (Euclidean, itself excluded)
    in ``features`` [N, D] that carry its cluster id. Exact neighbours (scikit-learn)."""
    from sklearn.neighbors import NearestNeighbors

    n = len(features)
    if not 1 <= k < n:
        raise SelectionError(f"selflabel.k: {k} neighbours for {n} images (allowed: 1..{n - 1})")
    if len(assignments) != n:
        raise ValueError(f"knn_agreement: {n} feature rows but {len(assignments)} cluster ids")
    x = np.ascontiguousarray(features.reshape(n, -1), dtype=np.float32)
    nn_ = NearestNeighbors(n_neighbors=k + 1, n_jobs=max(1, int(threads))).fit(x)
    idx = nn_.kneighbors(x, return_distance=False)
    # Drop the image itself; with exact duplicates it may sit anywhere in the list, or be
    # crowded out (then the last neighbour goes): a stable sort moves "self" to the end.
    is_self = idx == np.arange(n)[:, None]
    idx = np.take_along_axis(idx, np.argsort(is_self, axis=1, kind="stable"), axis=1)[:, :k]
    return (assignments[idx] == assignments[:, None]).mean(axis=1)


def cluster_posteriors(
    features: np.ndarray, assignments: np.ndarray, n_clusters: int, reg_covar: float = 1e-6
) -> np.ndarray:
    """[N, n_clusters] posteriors of one full-covariance Gaussian per cluster, fitted to its members
    in ``features`` (one M-step and one E-step of a mixture; weights = cluster sizes).
    ``reg_covar`` is added to each covariance's diagonal, as scikit-learn's GaussianMixture does."""
    from scipy.linalg import solve_triangular
    from scipy.special import logsumexp

    x = features.reshape(len(features), -1).astype(np.float64)
    n, d = x.shape
    logp = np.full((n, n_clusters), -np.inf)
    for c in range(n_clusters):
        members = x[assignments == c]
        if len(members) == 0:
            continue
        mu = members.mean(axis=0)
        cov = np.cov(members, rowvar=False, bias=True).reshape(d, d) if len(members) > 1 else np.zeros((d, d))
        chol = np.linalg.cholesky(cov + reg_covar * np.eye(d))
        z = solve_triangular(chol, (x - mu).T, lower=True)
        logdet = 2 * np.log(np.diag(chol)).sum()
        logp[:, c] = math.log(len(members) / n) - 0.5 * ((z**2).sum(axis=0) + logdet + d * math.log(2 * math.pi))
    return np.exp(logp - logsumexp(logp, axis=1, keepdims=True))


def confidence_scores(
    criterion: str,
    assignments: np.ndarray,
    *,
    features: np.ndarray | None = None,
    probs: np.ndarray | None = None,
    k: int = 20,
    threads: int = 1,
) -> np.ndarray:
    """The criterion's score of each image's own cluster id (higher = more trusted):
    knn agreement (needs ``features``), posterior or margin (need ``probs`` [N, K])."""
    if criterion == "knn":
        if features is None:
            raise ValueError("criterion knn needs features")
        return knn_agreement(features, assignments, k, threads)
    if probs is None:
        raise ValueError(f"criterion {criterion} needs posteriors")
    own = probs[np.arange(len(assignments)), assignments]
    if criterion == "posterior":
        return own
    if criterion == "margin":
        others = probs.copy()
        others[np.arange(len(assignments)), assignments] = -np.inf
        return own - others.max(axis=1)
    raise ValueError(f"selflabel.criterion: expected one of {', '.join(CRITERIA)}, got {criterion!r}")


def keep(scores: np.ndarray, criterion: str, threshold: float, k: int = 20) -> np.ndarray:
    """Boolean mask of the images the criterion keeps. For knn the score is a count over k
    neighbours, so the comparison is made in whole neighbours (no rounding surprises)."""
    if criterion == "knn":
        need = math.ceil(threshold * k - 1e-9)
        return np.rint(scores * k) >= need
    return scores >= threshold


# ---------------------------------------------------------------- the classifier


class SelfLabelNet(nn.Module):
    """Two 3x3 conv blocks (conv, batch norm, ReLU, 2x2 max-pool), a hidden layer, logits.
    Sized from the image shape (C, H, W): the hidden layer sees C2 x H/4 x W/4 values."""

    def __init__(
        self, in_shape: tuple[int, int, int], n_classes: int, channels: tuple[int, int] = (32, 64), hidden: int = 128
    ):
        super().__init__()
        c, h, w = in_shape
        c1, c2 = channels
        if h < 4 or w < 4:
            raise ValueError(f"SelfLabelNet: images of {h}x{w} pixels are too small for two 2x2 poolings")
        self.body = nn.Sequential(
            nn.Conv2d(c, c1, 3, padding=1, bias=False),
            nn.BatchNorm2d(c1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1, bias=False),
            nn.BatchNorm2d(c2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c2 * (h // 4) * (w // 4), hidden),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(hidden, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate features (what the later rounds compare neighbours in)."""
        return self.body(x)

    def embed_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(penultimate features, logits) in one pass."""
        h = self.body(x)
        return h, self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _image_shape(images: torch.Tensor) -> tuple[int, int, int]:
    return (1, *images.shape[1:]) if images.dim() == 3 else tuple(images.shape[1:])


def train_net(
    images: torch.Tensor,
    targets: torch.Tensor,
    n_classes: int,
    cfg: SelfLabelConfig,
    seed: int,
    device: torch.device | str = "cpu",
) -> tuple[SelfLabelNet, list[dict[str, float]]]:
    """A fresh :class:`SelfLabelNet` trained on ``images`` (uint8 [N, H, W] or float [N, C, H, W])
    and cluster ids ``targets`` by :func:`aeclust.train.fit`; returns it (eval mode) and one
    dict per epoch.

    Initialisation from ``seed``; each epoch's shuffle and augmentation from
    :func:`aeclust.train.epoch_generator` (seed, epoch). Cross-entropy, Adam; with
    ``schedule: onecycle`` the learning rate rises to ``cfg.lr`` over the first 30 % of the
    steps and anneals (cosine) to 1/10,000 of it (torch's OneCycleLR defaults). A last batch
    of one image is skipped (batch norm needs two). With ``bn_recalibrate`` the batch-norm
    statistics are then those of the un-augmented images (:func:`aeclust.train.recalibrate_batchnorm`).
    """
    n = len(images)
    if n < 2:
        raise SelectionError(
            f"selflabel: {n} selected image(s), at least 2 needed to train (lower selflabel.threshold)"
        )
    torch.manual_seed(seed)
    model = SelfLabelNet(_image_shape(images), n_classes, cfg.channels, cfg.hidden)
    fit_cfg = FitConfig(
        cfg.epochs,
        cfg.batch_size,
        cfg.lr,
        seed,
        loss="ce",
        precision=cfg.precision,
        schedule=cfg.schedule,
        min_batch=2,
        bn_recalibrate=cfg.bn_recalibrate,
    )
    try:
        history = fit(model, images, fit_cfg, targets=targets, corrupt=Augment(cfg.augment), device=device)
    except TrainingError as exc:
        raise TrainingError(f"selflabel: {exc} (selflabel.lr)") from None
    return model, history


def predict_all(
    model: SelfLabelNet,
    images: torch.Tensor,
    precision: str = "fp32",
    batch_size: int = 1024,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """(softmax [N, K], penultimate features [N, hidden]) of every image, in eval mode
    (:func:`aeclust.train.predict`)."""
    feats, logits = predict(model, images, model.embed_and_logits, batch_size, device, precision)
    return torch.softmax(logits, dim=1).numpy(), feats.numpy()


# ---------------------------------------------------------------- the stage


def round_seed(seed: int, round_: int) -> int:
    """The seed of round ``round_`` (1-based) of replicate ``seed``: every round its own stream."""
    return seed * 1000 + round_


def self_label(
    images: np.ndarray | torch.Tensor,
    assignments: np.ndarray,
    space: np.ndarray,
    cfg: SelfLabelConfig,
    seed: int,
    device: torch.device | str = "cpu",
    threads: int = 1,
) -> dict[str, Any]:
    """Run the stage: ``rounds`` times select, train a fresh CNN, predict every image.

    ``images``: uint8 [N, H, W] (or float [N, C, H, W]); ``assignments``: the source
    clustering's ids [N] (0..K-1); ``space``: the features [N, D] the first selection
    compares neighbours (or fits posteriors) in. Returns ``clusters`` [N] and ``confidence``
    [N] (softmax max) of the last CNN, ``selected`` [rounds, N] (the images each CNN trained
    on), ``round_clusters`` [rounds + 1, N] (the source's ids, then each CNN's) and
    ``history`` (per round: selected count and the epochs)."""
    images = torch.as_tensor(images)
    assignments = np.asarray(assignments).astype(np.int64)
    n = len(images)
    if len(assignments) != n or len(space) != n:
        raise ValueError(
            f"selflabel: {n} images, {len(assignments)} cluster ids and {len(space)} feature rows; expected the same images"
        )
    if assignments.min() < 0:
        raise ValueError("selflabel: cluster ids must be >= 0")
    n_clusters = int(assignments.max()) + 1
    current, probs, feats = assignments, None, space
    selected, round_clusters, history = [], [current], []
    for r in range(1, cfg.rounds + 1):
        t0 = time.perf_counter()
        if cfg.criterion != "knn" and probs is None:
            probs = cluster_posteriors(feats, current, n_clusters)
        scores = confidence_scores(cfg.criterion, current, features=feats, probs=probs, k=cfg.k, threads=threads)
        mask = keep(scores, cfg.criterion, cfg.threshold, cfg.k)
        per_cluster = np.bincount(current[mask], minlength=n_clusters)
        t_select = time.perf_counter() - t0
        log.info(
            "round %d: %s (k=%d, threshold %g) keeps %d of %d images (%.1f %%) in %.1f s; per cluster %s",
            r,
            cfg.criterion,
            cfg.k,
            cfg.threshold,
            mask.sum(),
            n,
            100 * mask.mean(),
            t_select,
            per_cluster.tolist(),
        )
        if mask.sum() < 2:
            raise SelectionError(
                f"selflabel round {r}: criterion {cfg.criterion} kept {mask.sum()} of {n} images; "
                "lower selflabel.threshold (or k)"
            )
        empty = [c for c in range(n_clusters) if per_cluster[c] == 0 and (current == c).any()]
        if empty:
            log.warning("round %d: no image of cluster(s) %s kept; the classifier cannot predict them", r, empty)
        keep_idx = torch.from_numpy(np.flatnonzero(mask))
        model, epochs = train_net(
            images[keep_idx], torch.from_numpy(current[mask]), n_clusters, cfg, round_seed(seed, r), device
        )
        probs, feats = predict_all(model, images, cfg.precision, device=device)
        new = probs.argmax(axis=1).astype(np.int64)
        log.info(
            "round %d: the CNN changes %d cluster ids (%.2f %%) of the %d images; %.1f s in all",
            r,
            int((new != current).sum()),
            100 * float((new != current).mean()),
            n,
            time.perf_counter() - t0,
        )
        history.append({"round": r, "selected": int(mask.sum()), "select_s": t_select, "epochs": epochs})
        current = new
        selected.append(mask)
        round_clusters.append(current)
    return {
        "clusters": current,
        "confidence": probs.max(axis=1).astype(np.float32),
        "selected": np.stack(selected),
        "round_clusters": np.stack(round_clusters),
        "history": history,
    }
