# What a user came for: every image's cluster (clusters.csv), and for their own images the
# internal criteria, cluster sizes and per-cluster example grids (README "Your own images").


rule clusters_table:
    """clusters.csv: one row per clustered image (its source), per method and seed its
    cluster id and, for the Gaussian mixture, its posterior probability."""
    input:
        clusters=[f"{R}/clusters/{a}/{f}_s{s}.npz" for a, f in methods() for s in SEEDS],
        subsets=expand(f"{R}/subsets/cluster_s{{seed}}.npz", seed=SEEDS),
        code=lib_for("clusters_table"),
    output:
        table=report(
            f"{R}/clusters.csv",
            caption="../report/clusters_table.rst",
            category="Summary",
            labels={"result": "table: every image's cluster, per method and seed"},
        ),
    log:
        f"{LOGS}/clusters_table.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("clusters_table"),
        runtime=runtime_of("clusters_table"),
    params:
        methods=[f"{a}/{f}" for a, f in methods()],
        seeds=SEEDS,
    script:
        "../scripts/clusters_table.py"


rule internal_criteria:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin of every method and seed, in the
    space each method clustered, and the cluster sizes (no labels used)."""
    input:
        clusters=[f"{R}/clusters/{a}/{f}_s{s}.npz" for a, f in methods() for s in SEEDS],
        features=[
            feature_file(method_space(a, f), s) for a, f in methods() for s in SEEDS
        ],
        data=f"{DATA}/images.npz",
        code=lib_for("internal_criteria"),
    output:
        csv=report(
            f"{R}/internal.csv",
            caption="../report/internal.rst",
            category="Summary",
            labels={"result": "table: internal criteria and cluster sizes"},
        ),
        md=report(
            f"{R}/internal.md",
            caption="../report/internal.rst",
            category="Summary",
            labels={"result": "internal criteria, cluster sizes (Markdown)"},
        ),
    log:
        f"{LOGS}/internal_criteria.log",
    benchmark:
        f"{BENCH}/internal_criteria.tsv"
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("internal_criteria"),
        runtime=runtime_of("internal_criteria"),
    params:
        methods=[f"{a}/{f}" for a, f in methods()],
        seeds=SEEDS,
        dataset=DATASET,
        labelled=LABELLED,
        k=config["kmeans"]["k"],
        silhouette_sample=config["internal"]["silhouette_sample"],
        grids=[f"figures/clusters/{a}_{f}.png" for a, f in methods()],
    script:
        "../scripts/internal_criteria.py"


rule plot_cluster_grid:
    """The images nearest each cluster's centre, one row per cluster (first seed)."""
    input:
        clusters=f"{R}/clusters/{{algo}}/{{feat}}_s{SEEDS[0]}.npz",
        features=lambda w: feature_file(method_space(w.algo, w.feat), SEEDS[0]),
        subset=f"{R}/subsets/cluster_s{SEEDS[0]}.npz",
        code=lib_for("plot_cluster_grid"),
    output:
        figure=report(
            f"{R}/figures/clusters/{{algo}}_{{feat}}.png",
            caption="../report/cluster_grid.rst",
            category="Clustering",
            subcategory="What each cluster holds",
            labels={"method": "{algo}/{feat}"},
        ),
    log:
        f"{LOGS}/plot_cluster_grid/{{algo}}_{{feat}}.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("plot_cluster_grid"),
        runtime=runtime_of("plot_cluster_grid"),
    params:
        per_cluster=config["internal"]["grid_images"],
        seed=SEEDS[0],
    script:
        "../scripts/plot_cluster_grid.py"
