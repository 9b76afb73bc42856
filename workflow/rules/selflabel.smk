# Self-labeling: the confident part of a clustering (a label-free criterion) trains a CNN
# with augmentation, which then relabels every image. Its output is an ordinary
# clustering, method selflabel/{algo}_{feat}, so align_clusters, plot_confusion and
# summarize treat it like every other method.


rule selflabel:
    """Relabel one clustering: select confident pseudo-labels, train a CNN on them, predict every image."""
    input:
        clusters=f"{R}/clusters/{{algo}}/{{feat}}_s{{seed}}.npz",
        images=f"{R}/subsets/cluster_s{{seed}}.npz",
        space=selflabel_space_input,
        code=lib_for("selflabel"),
    output:
        clusters=f"{R}/clusters/selflabel/{{algo}}_{{feat}}_s{{seed}}.npz",
    log:
        f"{LOGS}/selflabel/{{algo}}_{{feat}}_s{{seed}}.log",
    benchmark:
        f"{BENCH}/selflabel/{{algo}}_{{feat}}_s{{seed}}.tsv"
    wildcard_constraints:
        algo=METHOD_WILDCARDS["clustering"],  # a clustering, not a self-labeling of one
    conda:
        "../envs/aeclust.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb_of("selflabel"),
        runtime=runtime_of("selflabel"),
        gpu=gpus(),
    params:
        settings=selflabel_settings(),
        device=config["device"],
    script:
        "../scripts/selflabel.py"
