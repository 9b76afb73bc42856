"""Rule import_images: a user's folder of images or array, read into one normalised file."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)

import numpy as np
from aeclust.images import read_source, shown
from aeclust.io import save_npz

data = read_source(smk.params.source, smk.params.name, threads=smk.threads)
for path, reason in data.skipped:
    log.warning("skipped unreadable file %s: %s", path, reason)
shape = "x".join(map(str, data.images.shape[1:]))
counts = (
    dict(zip(data.label_names, np.bincount(data.labels, minlength=len(data.label_names)).tolist()))
    if data.labelled
    else "no labels"
)
log.info(
    "imported %d images (%s, uint8) from %s; %d unreadable files skipped; classes: %s",
    len(data.images),
    shape,
    shown(smk.params.source["path"]),
    len(data.skipped),
    counts,
)
save_npz(smk.output.images, **data.arrays())
