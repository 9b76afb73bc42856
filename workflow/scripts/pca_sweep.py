"""Rule pca_sweep: K-Means accuracy against PCA component count, every seed."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

import pandas as pd
from aeclust.cluster import kmeans, load_features, reduce_pca
from aeclust.io import save_table
from aeclust.metrics import evaluate
from aeclust.plots import plot_sweep

p = smk.params
rows = []
for seed, path in zip(p.seeds, smk.input.features):
    features, labels = load_features(path)
    for n in p.components:
        reduced, ratio = reduce_pca(features, n, seed)
        clusters, _ = kmeans(reduced, p.k, p.n_init, p.max_iter, seed)
        m, _ = evaluate(labels, clusters)
        rows.append(
            {
                "components": n,
                "seed": seed,
                "accuracy": m["accuracy"],
                "nmi": m["nmi"],
                "ari": m["ari"],
                "explained_variance": float(ratio.sum()),
            }
        )
        log.info("seed %d, %d components: accuracy %.4f", seed, n, m["accuracy"])
table = pd.DataFrame(rows)
save_table(smk.output.table, table)
plot_sweep(
    table,
    smk.output.figure,
    title=f"PCA sweep on {p.epochs}-epoch autoencoder embeddings",
    method=f"kmeans/ae_e{p.epochs}_pca{max(p.components)}",
)
