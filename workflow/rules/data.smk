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
    params:
        files=list(DS["files"].values()),
        sha256=DS["sha256"],
    log:
        f"{LOGS}/download_dataset.log",
    threads: 1
    conda:
        "../envs/aeclust.yaml"
    script:
        "../scripts/download_dataset.py"


rule make_subsets:
    """Stratified, seeded clustering and training subsets with provenance indices."""
    input:
        idx=idx_files(),
        code=lib("idx.py", "subsets.py"),
    output:
        cluster=f"{R}/subsets/cluster.npz",
        train=f"{R}/subsets/train.npz",
    params:
        subsets=config["subsets"],
    log:
        f"{LOGS}/make_subsets.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/aeclust.yaml"
    script:
        "../scripts/make_subsets.py"
