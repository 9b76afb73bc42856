"""Rule plot_cluster_grid: the images nearest each cluster's centre, one row per cluster."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)

import numpy as np
from aeclust.cluster import load_features
from aeclust.gallery import plot_cluster_grid
from aeclust.internal import nearest_to_centres
from aeclust.io import load_npz
from aeclust.methods import describe

method = f"{smk.wildcards.algo}/{smk.wildcards.feat}"
clusters = load_npz(smk.input.clusters)["clusters"]
features, _ = load_features(smk.input.features)
subset = load_npz(smk.input.subset)
picks = nearest_to_centres(features, clusters, smk.params.per_cluster)
sizes = {int(c): int(n) for c, n in zip(*np.unique(clusters, return_counts=True))}
title = (
    f"{describe(method)}, seed {smk.params.seed}: each cluster's {smk.params.per_cluster} images nearest its centre "
    f"(nearest first), {len(clusters)} images"
)
plot_cluster_grid(subset["images"], picks, sizes, smk.output.figure, title)
for c, idx in picks.items():
    log.info("cluster %d (%d images): %s", c, sizes[c], ", ".join(subset["source"][idx].tolist()))
