"""Rule plot_accuracy: accuracy per method over seeds, the study's numbers marked."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

from aeclust.io import load_json
from aeclust.plots import plot_accuracy
from aeclust.study import STUDY_ACCURACY

p = smk.params
records = [load_json(path) for path in [*smk.input.metrics, *smk.input.classifier]]
study = STUDY_ACCURACY.get(p.dataset, {})
title = f"Accuracy per method on {p.dataset}, {len(p.seeds)} seeds ({', '.join(map(str, p.seeds))})"
plot_accuracy(records, [*p.methods, "classifier"], study, smk.output.figure, title)
log.info("plotted %d methods, %d records; study values for %s", len(p.methods) + 1, len(records), sorted(study))
