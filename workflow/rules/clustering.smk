# Clustering and its scores: PCA, K-Means, Gaussian mixtures, alignment of clusters to
# classes, the PCA sweep, the supervised reference, confusion matrices and the summary.


rule reduce_pca:
    """PCA of one seed's embeddings to n components."""
    input:
        features=f"{R}/features/ae_e{{epochs}}_s{{seed}}.npz",
        code=lib_for("reduce_pca"),
    output:
        features=f"{R}/features/ae_e{{epochs}}_pca{{n}}_s{{seed}}.npz",
    log:
        f"{LOGS}/reduce_pca/e{{epochs}}_pca{{n}}_s{{seed}}.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("reduce_pca"),
        runtime=runtime_of("reduce_pca"),
    script:
        "../scripts/reduce_pca.py"


rule cluster_kmeans:
    """K-Means (k-means++, best of n_init) on one feature set and seed."""
    input:
        features=features_input,
        code=lib_for("cluster_kmeans"),
    output:
        clusters=f"{R}/clusters/kmeans/{{feat}}_s{{seed}}.npz",
    log:
        f"{LOGS}/cluster_kmeans/{{feat}}_s{{seed}}.log",
    benchmark:
        f"{BENCH}/cluster_kmeans/{{feat}}_s{{seed}}.tsv"
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("cluster_kmeans"),
        runtime=runtime_of("cluster_kmeans"),
    params:
        k=config["kmeans"]["k"],
        n_init=config["kmeans"]["n_init"],
        max_iter=config["kmeans"]["max_iter"],
    script:
        "../scripts/cluster_kmeans.py"


rule cluster_gmm:
    """Gaussian mixture (EM from k-means, best likelihood of n_init) on one feature set and seed."""
    input:
        features=features_input,
        code=lib_for("cluster_gmm"),
    output:
        clusters=f"{R}/clusters/gmm/{{feat}}_s{{seed}}.npz",
    log:
        f"{LOGS}/cluster_gmm/{{feat}}_s{{seed}}.log",
    benchmark:
        f"{BENCH}/cluster_gmm/{{feat}}_s{{seed}}.tsv"
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("cluster_gmm"),
        runtime=runtime_of("cluster_gmm"),
    params:
        k=config["kmeans"]["k"],
        covariance_type=config["gmm"]["covariance_type"],
        n_init=config["gmm"]["n_init"],
        max_iter=config["gmm"]["max_iter"],
    script:
        "../scripts/cluster_gmm.py"


rule align_clusters:
    """Hungarian matching of cluster ids to digits; aligned confusion matrix and metrics."""
    input:
        clusters=f"{R}/clusters/{{algo}}/{{feat}}_s{{seed}}.npz",
        code=lib_for("align_clusters"),
    output:
        metrics=f"{R}/metrics/{{algo}}/{{feat}}_s{{seed}}.json",
        confusion=f"{R}/metrics/{{algo}}/{{feat}}_s{{seed}}_confusion.csv",
    log:
        f"{LOGS}/align_clusters/{{algo}}_{{feat}}_s{{seed}}.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/align_clusters.py"


rule pca_sweep:
    """Accuracy against PCA component count, over seeds (the study picked 32 by trials)."""
    input:
        features=expand(f"{R}/features/ae_e{sweep_epochs()}_s{{seed}}.npz", seed=SEEDS),
        code=lib_for("pca_sweep"),
    output:
        table=report(
            f"{R}/pca_sweep.csv",
            caption="../report/pca_sweep_table.rst",
            category="PCA sweep",
            labels={"result": "table: accuracy per component count and seed"},
        ),
        figure=report(
            f"{R}/figures/pca_sweep.png",
            caption="../report/pca_sweep.rst",
            category="PCA sweep",
            labels={"result": "figure: accuracy against component count"},
        ),
    log:
        f"{LOGS}/pca_sweep.log",
    benchmark:
        f"{BENCH}/pca_sweep.tsv"
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        components=config["pca"]["sweep"],
        seeds=SEEDS,
        epochs=sweep_epochs(),
        k=config["kmeans"]["k"],
        n_init=config["kmeans"]["n_init"],
        max_iter=config["kmeans"]["max_iter"],
    script:
        "../scripts/pca_sweep.py"


rule train_classifier:
    """The study's supervised reference network, scored on the clustering subset."""
    input:
        train=f"{R}/subsets/train_s{{seed}}.npz",
        cluster=f"{R}/subsets/cluster_s{{seed}}.npz",
        code=lib_for("train_classifier"),
    output:
        model=f"{R}/models/classifier_s{{seed}}.pt",
        metrics=f"{R}/metrics/classifier_s{{seed}}.json",
    log:
        f"{LOGS}/train_classifier/s{{seed}}.log",
    benchmark:
        f"{BENCH}/train_classifier/s{{seed}}.tsv"
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("train_classifier"),
        runtime=runtime_of("train_classifier", config["classifier"]["epochs"]),
        gpu=gpus(),
    params:
        model={"kind": "classifier", "hidden": config["classifier"]["hidden"]},
        lr=config["classifier"]["lr"],
        batch_size=config["classifier"]["batch_size"],
        epochs=config["classifier"]["epochs"],
        device=config["device"],
    script:
        "../scripts/train_classifier.py"


rule plot_confusion:
    """One aligned confusion-matrix heatmap per method (the study's Figures 1-4)."""
    input:
        metrics=expand(
            f"{R}/metrics/{{{{algo}}}}/{{{{feat}}}}_s{{seed}}.json", seed=SEEDS
        ),
        confusion=expand(
            f"{R}/metrics/{{{{algo}}}}/{{{{feat}}}}_s{{seed}}_confusion.csv",
            seed=SEEDS,
        ),
        code=lib_for("plot_confusion"),
    output:
        figure=report(
            f"{R}/figures/confusion/{{algo}}_{{feat}}.png",
            caption="../report/confusion.rst",
            category="Clustering",
            subcategory="Confusion matrices",
            labels={"method": "{algo}/{feat}"},
        ),
    log:
        f"{LOGS}/plot_confusion/{{algo}}_{{feat}}.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        seeds=SEEDS,
    script:
        "../scripts/plot_confusion.py"


rule summarize:
    """summary.csv / summary.md: every method, mean, sd and 95 % interval over seeds."""
    input:
        metrics=[f"{R}/metrics/{a}/{f}_s{s}.json" for a, f in methods() for s in SEEDS],
        classifier=expand(f"{R}/metrics/classifier_s{{seed}}.json", seed=SEEDS),
        sweep=f"{R}/pca_sweep.csv",
        denoising=denoising_table(),
        code=lib_for("summarize"),
    output:
        csv=report(
            f"{R}/summary.csv",
            caption="../report/summary_table.rst",
            category="Summary",
            labels={"figure": "table: every method over seeds"},
        ),
        md=report(
            f"{R}/summary.md",
            caption="../report/summary.rst",
            category="Summary",
            labels={"figure": "results: the study's claims checked"},
        ),
    log:
        f"{LOGS}/summarize.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        dataset=DATASET,
        methods=[f"{a}/{f}" for a, f in methods()],
        seeds=SEEDS,
        published=published(),
        design_differences=design_differences(),
        classifier_on_training=classifier_on_training(),
    script:
        "../scripts/summarize.py"
