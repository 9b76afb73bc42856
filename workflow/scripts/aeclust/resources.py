"""What a job asks its scheduler for: memory (``mem_mb``) and time (``runtime``, minutes),
computed from the size of the job's input files, so that a cluster gets honest requests
for a dataset of any size.

The formula, per rule (:data:`RULES`)::

    mem_mb  = max(floor_mb,  base_mb + mb_per_input_mb * input_mb)
    runtime = max(floor_min, min_per_input_mb * input_mb * work)

``input_mb`` is the size of the job's input files on disk (Snakemake's ``input.size_mb``);
``work`` is 1, or the epochs a training job runs. The fixed part is the process with the
libraries the rule's script imports (Python and NumPy ~130 MB, scikit-learn ~175 MB, torch
~260-400 MB, umap-learn with numba ~400 MB); the part that grows is what the job holds per
MB of input: the arrays are stored compressed (``np.savez_compressed``: uint8 images shrink
~5x) and worked on as float32 (4x), with the copies the libraries make (scikit-learn casts
to float64, UMAP keeps a neighbour graph that grows with the images). The floors are the
requests that the study's sizes have always used, so small runs ask for what they did; the
factors are sized from measured peaks (bench/scale.py checks each declared value against
the job's peak RSS) with headroom. Time scales the same way: the floors cover the study and
the factors a 2-core machine under load.

Stdlib only: common.smk loads this file by its path at parse time.
"""

from __future__ import annotations

import math
from typing import NamedTuple


class Need(NamedTuple):
    floor_mb: int  # the least memory asked for
    base_mb: int  # the process and its libraries
    mb_per_input_mb: float  # memory held per MB of input files
    floor_min: int  # the least time asked for, in minutes
    min_per_input_mb: float  # minutes per MB of input (per epoch for a training job)


RULES: dict[str, Need] = {
    # input MB: the images decoded at the target size (:func:`import_mb`), not the files: a
    # folder's own size says nothing of its images, and a photo is decoded at a reduced scale
    "import_images": Need(4000, 600, 1.5, 30, 0.01),
    # the pool of images (IDX files as they are, or the imported images decompressed)
    "make_subsets": Need(2000, 300, 8, 10, 0.05),
    # the training images as float32 batches, the network, its optimiser state
    "train_autoencoder": Need(3000, 600, 24, 60, 0.02),
    "train_classifier": Need(2000, 600, 24, 30, 0.02),
    "train_denoiser": Need(3000, 600, 24, 60, 0.02),
    # encoding both subsets once
    "extract_embeddings": Need(3000, 600, 24, 15, 0.05),
    # a network per noise rate, the classifier, the held-out images and their noisy copies
    "evaluate_denoiser": Need(2000, 700, 32, 10, 0.1),
    # the neighbour graph and the layout grow with the images, numba's code is fixed
    "embed_umap": Need(4000, 700, 120, 30, 5.0),
    # the features as float64, and scikit-learn's copies
    "reduce_pca": Need(2000, 300, 48, 10, 0.1),
    "cluster_kmeans": Need(2000, 300, 48, 20, 0.5),
    "cluster_gmm": Need(2000, 300, 48, 20, 0.5),
    # a CNN trained on the images, the neighbour search in the space it compares in
    "selflabel": Need(4000, 800, 48, 60, 0.5),
    # what a user opens: every feature set or image drawn, the criteria's pairwise sums,
    # one row per image (bench/scale.py: 1.6 GB at 100,000 images of raw pixels for the
    # first two, 8-15 MB held per MB of input)
    "plot_cluster_grid": Need(2000, 300, 24, 5, 0.01),
    "plot_embeddings": Need(2000, 300, 16, 5, 0.01),
    "internal_criteria": Need(4000, 300, 20, 30, 0.01),
    "clusters_table": Need(2000, 200, 8, 10, 0.005),
    # the training subset it draws from, decompressed whole (bench/scale.py: 192 MB at
    # 100,000 images of 32x32, 53 MB of input; uint8 images compress up to ~5x)
    "plot_samples": Need(1000, 300, 8, 5, 0.01),
}


# What the import holds per image beyond its pixels: its file name and source entry
# (bench/scale.py measured 1.7 KB an image at 100,000 images).
PER_IMAGE_BYTES = 2048


def import_mb(n_images: int, height: int, width: int, channels: int) -> float:
    """The import's working size in MB: ``n_images`` decoded at ``height`` x ``width`` x
    ``channels`` (uint8), plus what it keeps per image (:data:`PER_IMAGE_BYTES`)."""
    return n_images * (height * width * channels + PER_IMAGE_BYTES) / 1e6


def need(rule: str) -> Need:
    if rule not in RULES:
        raise KeyError(f"no resource formula for rule {rule!r} (known: {', '.join(RULES)})")
    return RULES[rule]


def mem_mb(rule: str, input_mb: float) -> int:
    """Memory to ask for a job of ``rule`` whose input files take ``input_mb`` MB."""
    n = need(rule)
    return max(n.floor_mb, math.ceil(n.base_mb + n.mb_per_input_mb * max(0.0, input_mb)))


def runtime(rule: str, input_mb: float, work: float = 1, attempt: int = 1) -> int:
    """Minutes to ask for a job of ``rule`` whose input files take ``input_mb`` MB
    (``work``: the epochs a training job runs, 1 otherwise), times the ``attempt``: a
    resubmitted job (a training job resumes from its last checkpoint) gets more time each try."""
    n = need(rule)
    return max(n.floor_min, math.ceil(n.min_per_input_mb * max(0.0, input_mb) * max(1, work))) * max(1, attempt)
