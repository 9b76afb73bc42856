"""Rule make_subsets: stratified clustering/training subsets saved with provenance."""

from aeclust.runtime import script_setup

log = script_setup(snakemake)  # noqa: F821

import numpy as np

from aeclust.idx import read_images_labels
from aeclust.io import save_npz
from aeclust.subsets import SubsetSpec, draw_seed, make_subsets, split_of

tr_img, tr_lab, te_img, te_lab = snakemake.input.idx  # noqa: F821
train_images, train_labels = read_images_labels(tr_img, tr_lab)
test_images, test_labels = read_images_labels(te_img, te_lab)
images = np.concatenate([train_images, test_images])
labels = np.concatenate([train_labels, test_labels])
cfg = snakemake.params.subsets  # noqa: F821
spec = {k: SubsetSpec(cfg[k]["split"], cfg[k]["per_class"]) for k in ("cluster", "train")}
draw = draw_seed(cfg["seed"], int(snakemake.wildcards.seed), cfg["per_replicate"])  # noqa: F821
log.info("draw seed %s (subsets.seed %d, per_replicate %s)", draw, cfg["seed"], cfg["per_replicate"])
drawn = make_subsets(images, labels, len(train_labels), spec["cluster"], spec["train"], draw, cfg["train"]["exclude_cluster"])
for name, idx in drawn.items():
    split, index_in_split = split_of(idx, len(train_labels))
    save_npz(snakemake.output[name], images=images[idx], labels=labels[idx], split=split, index=index_in_split)  # noqa: F821
    log.info("%s subset: %d images, class counts %s", name, len(idx), np.bincount(labels[idx], minlength=10).tolist())
