# Autoencoders: one model per epoch count and seed, and the embeddings they make.


rule train_autoencoder:
    """Train the autoencoder on the training subset, continuing from the model of the next
    smaller epoch count (per-epoch checkpoint, resumable)."""
    input:
        train=f"{R}/subsets/train_s{{seed}}.npz",
        previous=previous_ae_state,
        code=lib_for("train_autoencoder"),
    output:
        model=f"{R}/models/ae_e{{epochs}}_s{{seed}}.pt",
        settings=f"{R}/models/ae_e{{epochs}}_s{{seed}}.json",
        loss=f"{R}/models/ae_e{{epochs}}_s{{seed}}_loss.tsv",
        state=f"{R}/models/ae_e{{epochs}}_s{{seed}}_state.pt",
    log:
        f"{LOGS}/train_autoencoder/e{{epochs}}_s{{seed}}.log",
    benchmark:
        f"{BENCH}/train_autoencoder/e{{epochs}}_s{{seed}}.tsv"
    conda:
        "../envs/aeclust.yaml"
    # The conv autoencoder's small convolutions are bound by per-operation cost: two
    # 1-thread jobs on 2 cores train 1.3x the samples of one 2-thread job, and the DAG has
    # other networks to train meanwhile (docs/performance.md). N2D's MLP (full preset) has
    # matrix products big enough for two threads and trains alone.
    threads: 1 if config["autoencoder"]["arch"] == "conv" else 2
    resources:
        mem_mb=mem_mb_of("train_autoencoder"),
        runtime=runtime_of("train_autoencoder", lambda w: int(w.epochs)),
        gpu=gpus(),
    params:
        model=ae_settings(),
        batch_size=config["autoencoder"]["batch_size"],
        lr=config["autoencoder"]["lr"],
        precision=config["autoencoder"]["precision"],
        device=config["device"],
    script:
        "../scripts/train_autoencoder.py"


rule extract_embeddings:
    """Encode the clustering subset (and, as a setting, the training subset)."""
    input:
        model=rules.train_autoencoder.output.model,
        cluster=f"{R}/subsets/cluster_s{{seed}}.npz",
        train=f"{R}/subsets/train_s{{seed}}.npz",
        code=lib_for("extract_embeddings"),
    output:
        features=f"{R}/features/ae_e{{epochs}}_s{{seed}}.npz",
    log:
        f"{LOGS}/extract_embeddings/e{{epochs}}_s{{seed}}.log",
    conda:
        "../envs/aeclust.yaml"
    # one forward pass over the images: start-up dominates, a second thread would idle
    threads: 1
    resources:
        mem_mb=mem_mb_of("extract_embeddings"),
        runtime=runtime_of("extract_embeddings"),
        gpu=gpus(),
    params:
        embed_train=config["autoencoder"]["embed_train"],
        device=config["device"],
    script:
        "../scripts/extract_embeddings.py"
