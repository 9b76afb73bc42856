"""Rule plot_samples: the first images of each digit in the training subset."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

from aeclust.io import load_npz
from aeclust.plots import plot_samples

data = load_npz(smk.input.train)
n = smk.params.per_class
title = f"Training subset: the first {n} of each digit ({len(data['labels'])} images in all)"
plot_samples(data["images"], data["labels"], n, smk.output.figure, title)
log.info("plotted %d per class from %d images", n, len(data["labels"]))
