"""Rule align_clusters: map clusters to classes, write aligned confusion matrix + metrics."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

import pandas as pd

from aeclust.io import load_npz, save_json, save_table
from aeclust.metrics import evaluate
from aeclust.provenance import provenance

data = load_npz(smk.input.clusters)
n_classes = int(data["labels"].max()) + 1  # 10 digits; a user's own images: their classes
metrics, cm = evaluate(data["labels"], data["clusters"], n_classes)
metrics.update(method=f"{smk.wildcards.algo}/{smk.wildcards.feat}", seed=int(smk.wildcards.seed), **provenance())
if "inertia" in data:
    metrics["inertia"] = float(data["inertia"])
log.info("accuracy %.4f NMI %.4f ARI %.4f", metrics["accuracy"], metrics["nmi"], metrics["ari"])
save_json(smk.output.metrics, metrics)
table = pd.DataFrame(cm, columns=[f"pred_{c}" for c in range(cm.shape[1])])
table.insert(0, "true", range(cm.shape[0]))
save_table(smk.output.confusion, table)
