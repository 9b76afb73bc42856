"""Rule embed_umap: UMAP manifold of one feature set (N2D)."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

from aeclust.cluster import load_features
from aeclust.io import save_npz
from aeclust.manifold import embed_umap

p = smk.params
features, labels = load_features(smk.input.features)
seed = int(smk.wildcards.seed) if p.seeded else None
embedding = embed_umap(features, p.n_components, p.n_neighbors, p.min_dist, p.metric, seed, smk.threads)
log.info(
    "UMAP %s -> %s (n_neighbors %d, min_dist %g, %s, random_state %s)",
    features.shape,
    embedding.shape,
    p.n_neighbors,
    p.min_dist,
    p.metric,
    seed,
)
save_npz(smk.output.features, features=embedding, labels=labels)
