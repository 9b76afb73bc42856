# aeclust: K-Means on MNIST pixels and autoencoder embeddings, de-noising autoencoders.
# Table of contents; the rules live in workflow/rules/, the library in workflow/aeclust/.
import os

from snakemake.utils import min_version

min_version("8.20")


# The defaults, found from the Snakefile so that runs with --directory work too;
# --configfile / --config layer the experiment's changes on top.
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


# The top page of `snakemake --report results/report.html` (docs/report.md).
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/autoencoder.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/denoise.smk"
include: "workflow/rules/manifold.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_targets(),
    default_target: True
