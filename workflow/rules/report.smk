# Figures made for the report (snakemake --report results/report.html): accuracy per
# method, autoencoder training curves, 2-D views of the features, sample images. The
# other stages' figures and tables carry their own report(...) flags; every caption
# lives in workflow/report/.


rule plot_accuracy:
    """Accuracy of every method over seeds, the supervised reference and the study's numbers."""
    input:
        metrics=[f"{R}/metrics/{a}/{f}_s{s}.json" for a, f in methods() for s in SEEDS],
        classifier=expand(f"{R}/metrics/classifier_s{{seed}}.json", seed=SEEDS),
        code=lib_for("plot_accuracy"),
    output:
        figure=report(
            f"{R}/figures/accuracy.png",
            caption="../report/accuracy.rst",
            category="Summary",
            labels={"figure": "accuracy per method"},
        ),
    log:
        f"{LOGS}/plot_accuracy.log",
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
        design_differences=design_differences(),
    script:
        "../scripts/plot_accuracy.py"


rule plot_training:
    """Training loss per epoch of the autoencoders of one epoch count, one line per seed."""
    input:
        loss=expand(f"{R}/models/ae_e{{{{epochs}}}}_s{{seed}}_loss.tsv", seed=SEEDS),
        code=lib_for("plot_training"),
    output:
        figure=report(
            f"{R}/figures/training/ae_e{{epochs}}.png",
            caption="../report/training.rst",
            category="Autoencoders",
            subcategory="Training loss",
            labels={"figure": "training loss", "epochs": "{epochs}"},
        ),
    log:
        f"{LOGS}/plot_training/ae_e{{epochs}}.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        seeds=SEEDS,
    script:
        "../scripts/plot_training.py"


rule plot_embeddings:
    """Pixels or embeddings of the clustered images, projected to two principal components, by class."""
    input:
        features=features_input,
        subset=f"{R}/subsets/cluster_s{{seed}}.npz",
        code=lib_for("plot_embeddings"),
    output:
        figure=report(
            f"{R}/figures/embeddings/{{feat}}_s{{seed}}.png",
            caption="../report/embeddings.rst",
            category="Autoencoders",
            subcategory="Embeddings in 2-D",
            labels={"features": "{feat}", "seed": "{seed}"},
        ),
    log:
        f"{LOGS}/plot_embeddings/{{feat}}_s{{seed}}.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("plot_embeddings"),
        runtime=runtime_of("plot_embeddings"),
    params:
        dataset=DATASET,
    script:
        "../scripts/plot_embeddings.py"


rule plot_samples:
    """The first images of each class (MNIST: digit) in the training subset."""
    input:
        train=f"{R}/subsets/train_s{SEEDS[0]}.npz",
        code=lib_for("plot_samples"),
    output:
        figure=report(
            f"{R}/figures/samples.png",
            caption="../report/samples.rst",
            category="Data",
            labels={"figure": "training subset, sample images"},
        ),
    log:
        f"{LOGS}/plot_samples.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("plot_samples"),
        runtime=runtime_of("plot_samples"),
    params:
        per_class=10,
        dataset=DATASET,
    script:
        "../scripts/plot_samples.py"
