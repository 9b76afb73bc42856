"""Rule summarize_denoising: one row per noise rate, mean and sd over seeds."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

from aeclust.denoise_report import denoise_markdown, denoise_table
from aeclust.io import load_json, save_table, save_text

table = denoise_table([load_json(path) for path in smk.input.metrics])
save_table(smk.output.csv, table)
save_text(smk.output.md, denoise_markdown(table, smk.params.seeds))
log.info("\n%s", table.to_string())
