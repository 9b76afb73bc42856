"""Rule summarize: one row per method, statistics over seeds; the study's numbers and the
verdicts on its claims only where the experiment is the study's design."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

import pandas as pd
from aeclust.io import load_json, save_table, save_text
from aeclust.summary import summary_document

p = smk.params
records = [load_json(path) for path in [*smk.input.metrics, *smk.input.classifier]]
sweep = pd.read_csv(smk.input.sweep)
denoising = list(smk.input.get("denoising", []))  # empty when the workflow has no de-noising
denoising = pd.read_csv(denoising[0]) if denoising else None
table, text, claims = summary_document(
    records, p.dataset, p.seeds, p.design_differences, p.published, sweep, denoising, p.classifier_on_training
)
save_table(smk.output.csv, table)
save_text(smk.output.md, text)
if not claims:
    log.info("not the study's design (%s): no study numbers, no verdicts", "; ".join(p.design_differences))
for c in claims:
    log.info("claim (section %s) %s: %s", c.section, c.claim, c.verdict)
log.info("\n%s", table.to_string())
