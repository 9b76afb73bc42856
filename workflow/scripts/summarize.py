"""Rule summarize: one row per method, statistics over seeds, beside the study's number."""

from aeclust.io import load_json, save_table, save_text
from aeclust.runtime import script_setup
from aeclust.summary import summary_markdown, summary_table

smk = snakemake  # noqa: F821
log = script_setup(smk)
records = [load_json(p) for p in [*smk.input.metrics, *smk.input.classifier]]
table = summary_table(records, smk.params.dataset)
save_table(smk.output.csv, table)
save_text(smk.output.md, summary_markdown(table, smk.params.dataset, smk.params.seeds))
log.info("\n%s", table.to_string())
