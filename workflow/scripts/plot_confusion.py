"""Rule plot_confusion: the aligned confusion matrix of a method's median-accuracy seed."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

import numpy as np
from aeclust.io import load_json
from aeclust.plots import plot_confusion

metrics = [load_json(m) for m in smk.input.metrics]
accs = [m["accuracy"] for m in metrics]
order = sorted(range(len(accs)), key=lambda i: accs[i])
pick = order[(len(order) - 1) // 2]  # the median seed: representative, not the best
cm = np.loadtxt(smk.input.confusion[pick], delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)[
    :, 1:
]  # column 0: the true class
method = f"{smk.wildcards.algo}/{smk.wildcards.feat}"
plot_confusion(
    cm, smk.output.figure, method=method, seed=smk.params.seeds[pick], accuracy=accs[pick], all_accuracies=accs
)
log.info("%s: plotted seed %s (accuracy %.4f)", method, smk.params.seeds[pick], accs[pick])
