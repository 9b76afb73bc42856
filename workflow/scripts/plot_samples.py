"""Rule plot_samples: the first images of each class (MNIST: digit) in the training subset."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

from aeclust.io import load_npz
from aeclust.plots import class_noun, plot_samples, samples_title

data = load_npz(smk.input.train)
n = smk.params.per_class
names = data.get("label_names")  # a user's own images: class id -> name (empty without labels)
labelled = names is None or len(names) > 0
title = samples_title(n, len(data["labels"]), class_noun(smk.params.dataset), labelled)
plot_samples(data["images"], data["labels"], n, smk.output.figure, title, names=names if labelled else None)
log.info("plotted %d per class from %d images", n, len(data["labels"]))
