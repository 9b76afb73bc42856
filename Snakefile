# aeclust: K-Means on MNIST pixels and autoencoder embeddings, de-noising autoencoders.
# Table of contents; the rules live in workflow/rules/, the library in workflow/aeclust/.
from snakemake.utils import min_version

min_version("8.20")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/autoencoder.smk"
include: "workflow/rules/cluster.smk"


rule all:
    input:
        all_targets(),
    default_target: True
