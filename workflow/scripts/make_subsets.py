"""Rule make_subsets: stratified clustering/training subsets saved with provenance."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)

import numpy as np
from aeclust.io import save_npz
from aeclust.subsets import draw_replicate, load_pool

source = {"idx": smk.input.idx} if "idx" in smk.input.keys() else {"images": smk.input.images}
pool = load_pool(**source, holdout=smk.params.holdout, seed=smk.params.subsets["seed"])
if pool.note:
    log.info("%s", pool.note)
subsets = draw_replicate(pool, smk.params.subsets, int(smk.wildcards.seed), smk.params.deskew)
for name, arrays in subsets.items():
    save_npz(smk.output[name], **arrays)
    counts = np.bincount(arrays["labels"], minlength=pool.n_classes).tolist() if pool.n_classes else "no labels"
    log.info("%s subset: %d images, class counts %s", name, len(arrays["labels"]), counts)
