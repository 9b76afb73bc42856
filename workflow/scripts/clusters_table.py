"""Rule clusters_table: clusters.csv, every image's cluster per method and seed."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)

from aeclust.clusters_csv import clusters_table
from aeclust.io import load_npz, save_table

p = smk.params
subsets = {seed: load_npz(path) for seed, path in zip(p.seeds, smk.input.subsets)}
runs, paths = [], iter(smk.input.clusters)
for method in p.methods:
    for seed in p.seeds:
        c, s = load_npz(next(paths)), subsets[seed]
        runs.append(
            {
                "method": method,
                "seed": seed,
                "source": s["source"],
                "clusters": c["clusters"],
                "confidence": c.get("confidence"),
                "labels": s["labels"],
            }
        )
names = next(iter(subsets.values())).get("label_names")
table = clusters_table(runs, None if names is None else names.tolist())
save_table(smk.output.table, table)
log.info("%d images, %d columns (%d methods x %d seeds)", len(table), table.shape[1], len(p.methods), len(p.seeds))
