"""Rule summarize: one row per method, statistics over seeds, beside the study's number."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

import pandas as pd

from aeclust.claims import check_claims, claims_markdown
from aeclust.io import load_json, save_table, save_text
from aeclust.summary import published_markdown, summary_markdown, summary_table

records = [load_json(p) for p in [*smk.input.metrics, *smk.input.classifier]]
table = summary_table(records, smk.params.dataset)
save_table(smk.output.csv, table)
sweep = pd.read_csv(smk.input.sweep)
denoising = list(smk.input.get("denoising", []))  # empty when the workflow has no de-noising
denoising = pd.read_csv(denoising[0]) if denoising else None
claims = check_claims(records, smk.params.dataset, sweep, denoising)
parts = [summary_markdown(table, smk.params.dataset, smk.params.seeds)]
if smk.params.published:  # only when we cluster the whole dataset, as the papers did
    parts.append(published_markdown(table, smk.params.published, smk.params.dataset))
parts.append(claims_markdown(claims, smk.params.seeds))
save_text(smk.output.md, "\n".join(parts))
for c in claims:
    log.info("claim (section %s) %s: %s", c.section, c.claim, c.verdict)
log.info("\n%s", table.to_string())
