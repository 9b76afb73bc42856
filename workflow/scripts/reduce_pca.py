"""Rule reduce_pca: PCA of embeddings to n components."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

from aeclust.cluster import load_features, reduce_pca
from aeclust.io import save_npz

features, labels = load_features(smk.input.features)
reduced, ratio = reduce_pca(features, int(smk.wildcards.n), int(smk.wildcards.seed))
log.info("%s -> %s, explained variance %.3f", features.shape, reduced.shape, ratio.sum())
save_npz(smk.output.features, features=reduced, labels=labels, explained_variance_ratio=ratio)
