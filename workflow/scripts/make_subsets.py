"""Rule make_subsets: stratified clustering/training subsets saved with provenance."""

from aeclust.runtime import script_setup

log = script_setup(snakemake)  # noqa: F821

import numpy as np
from aeclust.io import load_npz, save_npz
from aeclust.subsets import SubsetSpec, draw_seed, make_subsets, split_of

smk = snakemake  # noqa: F821
cfg = smk.params.subsets
if "idx" in smk.input.keys():
    from aeclust.idx import read_images_labels

    tr_img, tr_lab, te_img, te_lab = smk.input.idx
    train_images, train_labels = read_images_labels(tr_img, tr_lab)
    test_images, test_labels = read_images_labels(te_img, te_lab)
    images = np.concatenate([train_images, test_images])
    labels = np.concatenate([train_labels, test_labels])
    n_train = len(train_labels)
    names = [tr_img.rsplit("/", 1)[-1], te_img.rsplit("/", 1)[-1]]
    source = np.array([f"{names[i >= n_train]}[{i if i < n_train else i - n_train}]" for i in range(len(labels))])
    n_classes = 10
    extra = {}
else:  # a user's own images: their own split, or a held-out fraction drawn with subsets.seed
    from aeclust.images import as_pool, holdout_split

    data = load_npz(smk.input.images)
    split = data["split"] if "split" in data else holdout_split(data["labels"], smk.params.holdout, cfg["seed"])
    pool, n_train = as_pool(data, split)
    images, labels, source = pool["images"], pool["labels"], pool["source"]
    n_classes = len(data["label_names"])
    extra = {"label_names": data["label_names"]}  # class id -> the user's class name
    log.info(
        "%d images: %d train, %d test (%s)",
        len(labels),
        n_train,
        len(labels) - n_train,
        "the array's split" if "split" in data else f"holdout {smk.params.holdout}",
    )
spec = {k: SubsetSpec(cfg[k]["split"], cfg[k]["per_class"]) for k in ("cluster", "train")}
draw = draw_seed(cfg["seed"], int(smk.wildcards.seed), cfg["per_replicate"])
log.info("draw seed %s (subsets.seed %d, per_replicate %s)", draw, cfg["seed"], cfg["per_replicate"])
drawn = make_subsets(images, labels, n_train, spec["cluster"], spec["train"], draw, cfg["train"]["exclude_cluster"])
if smk.params.deskew:  # each image by its own pixels, so only the drawn ones, each once
    from aeclust.preprocess import deskew

    used = np.unique(np.concatenate(list(drawn.values())))
    images[used] = deskew(images[used])
    log.info("deskewed and centred the %d drawn images by their moments (subsets.deskew)", len(used))
for name, idx in drawn.items():
    split, index_in_split = split_of(idx, n_train)
    save_npz(
        smk.output[name],
        images=images[idx],
        labels=labels[idx],
        split=split,
        index=index_in_split,
        source=source[idx],
        **extra,
    )
    counts = np.bincount(labels[idx], minlength=n_classes).tolist() if n_classes else "no labels"
    log.info("%s subset: %d images, class counts %s", name, len(idx), counts)
