"""Rule cluster_kmeans: K-Means on one feature set."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

from aeclust.cluster import kmeans, load_features
from aeclust.io import save_npz

p = smk.params
features, labels = load_features(smk.input.features)
assignments, inertia = kmeans(features, p.k, p.n_init, p.max_iter, int(smk.wildcards.seed))
log.info("K-Means k=%d on %s: inertia %.4g", p.k, features.shape, inertia)
save_npz(smk.output.clusters, clusters=assignments, labels=labels, inertia=inertia)
