"""Rule internal_criteria: silhouette, Calinski-Harabasz, Davies-Bouldin and cluster sizes."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)

from aeclust.cluster import load_features
from aeclust.internal import criteria, internal_markdown, internal_table
from aeclust.io import load_npz, save_table, save_text

p = smk.params
records, clusters, features = [], iter(smk.input.clusters), iter(smk.input.features)
for method in p.methods:
    for seed in p.seeds:
        x, _ = load_features(next(features))
        r = criteria(x, load_npz(next(clusters))["clusters"], p.silhouette_sample, seed)
        records.append({"method": method, "seed": seed, **r})
        log.info(
            "%s seed %d: silhouette %.4f, Calinski-Harabasz %.1f, Davies-Bouldin %.4f, sizes %s",
            method,
            seed,
            r["silhouette"],
            r["calinski_harabasz"],
            r["davies_bouldin"],
            r["sizes"],
        )
table = internal_table(records)
save_table(smk.output.csv, table)
skipped = len(load_npz(smk.input.data).get("skipped", []))
save_text(smk.output.md, internal_markdown(table, p.seeds, p.dataset, p.k, skipped, p.grids, p.labelled))
