"""Rule plot_denoising: example digits per noise rate (the study's Table 1) and the
PSNR / legibility curves against noise rate."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

import pandas as pd
from aeclust.io import load_npz
from aeclust.plots import plot_denoise_curves, plot_denoise_examples

examples = {float(e["rate"]): e for e in map(load_npz, smk.input.examples)}
plot_denoise_examples(examples, smk.output.examples)
plot_denoise_curves(pd.read_csv(smk.input.table), smk.output.curves)
log.info("plotted %d noise rates", len(examples))
