# Data: download and verify the dataset, draw the study's subsets.


localrules:
    download_dataset,


rule download_dataset:
    """Fetch each IDX file from the first mirror that serves it with the right SHA-256.

    Only what the files are (names, checksums) is a param. How they are fetched (mirrors,
    timeout, retries, the downloader's code) is not: the checksums fix the bytes, so a
    change in how they are fetched never invalidates anything."""
    output:
        idx_files(),
    log:
        f"{LOGS}/download_dataset.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    params:
        files=list(DS["files"].values()),
        sha256=DS["sha256"],
    script:
        "../scripts/download_dataset.py"


rule make_subsets:
    """Stratified, seeded clustering and training subsets of one replicate, with provenance.

    Each replicate seed draws its own images (subsets.per_replicate, the default), so the
    spread over seeds covers which images a rerun of the study would draw."""
    input:
        idx=idx_files(),
        code=lib("idx.py", "io.py", "runtime.py", "subsets.py"),
    output:
        cluster=f"{R}/subsets/cluster_s{{seed}}.npz",
        train=f"{R}/subsets/train_s{{seed}}.npz",
    log:
        f"{LOGS}/make_subsets/s{{seed}}.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        subsets=config["subsets"],
    script:
        "../scripts/make_subsets.py"
