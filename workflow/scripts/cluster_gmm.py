"""Rule cluster_gmm: Gaussian mixture on one feature set."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

from aeclust.cluster import gmm, load_features
from aeclust.io import save_npz

p = smk.params
features, labels = load_features(smk.input.features)
assignments, stats, confidence = gmm(features, p.k, p.covariance_type, p.n_init, p.max_iter, int(smk.wildcards.seed))
log.info("GMM k=%d (%s covariance, best of %d) on %s: %s", p.k, p.covariance_type, p.n_init, features.shape, stats)
save_npz(smk.output.clusters, clusters=assignments, labels=labels, confidence=confidence, **stats)
