"""Rule plot_training: an autoencoder's training loss per epoch, one line per seed."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

import pandas as pd
from aeclust.plots import plot_training

histories = {int(seed): pd.read_csv(path, sep="\t") for seed, path in zip(smk.params.seeds, smk.input.loss)}
plot_training(histories, int(smk.wildcards.epochs), smk.output.figure)
log.info("final losses: %s", {s: round(float(h["loss"].iloc[-1]), 6) for s, h in histories.items()})
