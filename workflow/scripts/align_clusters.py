"""Rule align_clusters: map clusters to classes, write aligned confusion matrix + metrics."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

from aeclust.io import load_npz, save_csv, save_json
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
columns = ["true", *(f"pred_{c}" for c in range(cm.shape[1]))]
save_csv(smk.output.confusion, columns, [[true, *row] for true, row in enumerate(cm.tolist())])
