# aeclust's entry point at the top of the repository: `snakemake --cores 4` here runs
# the workflow, which lives in workflow/Snakefile (where the workflow catalog and
# Snakemake modules look for it).


include: "workflow/Snakefile"


# An included file cannot set the default target, so it is named here: the workflow's `all`.
rule default:
    default_target: True
    input:
        rules.all.input,
