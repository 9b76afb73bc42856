"""Rule plot_accuracy: accuracy per method over seeds, the study's numbers marked where
the experiment is the study's design."""

from aeclust.runtime import script_setup

smk = snakemake  # noqa: F821
log = script_setup(smk)  # first: OpenMP reads its settings when torch loads

import textwrap

from aeclust.io import load_json
from aeclust.plots import class_noun, plot_accuracy
from aeclust.study import STUDY_ACCURACY, absent_line

p = smk.params
records = [load_json(path) for path in [*smk.input.metrics, *smk.input.classifier]]
study = {} if p.design_differences else STUDY_ACCURACY.get(p.dataset, {})
note = textwrap.fill(absent_line(p.design_differences, "The study's values"), 110) if p.design_differences else None
title = f"Accuracy per method on {p.dataset}, {len(p.seeds)} seeds ({', '.join(map(str, p.seeds))})"
plot_accuracy(records, [*p.methods, "classifier"], study, smk.output.figure, title, note, class_noun(p.dataset))
log.info("plotted %d methods, %d records; study values for %s", len(p.methods) + 1, len(records), sorted(study))
