# Data: download and verify the dataset (or import a user's own images), draw the subsets.


if SOURCE == "idx":

    localrules:
        download_dataset,

    rule download_dataset:
        """Fetch each IDX file from the first mirror that serves it with the right SHA-256.

        Only what the files are (names, checksums) is a param. How they are fetched (mirrors,
        timeout, retries, the downloader's code) is not: the checksums fix the bytes, so a
        change in how they are fetched never invalidates anything."""
        input:
            # the downloader's code is not tracked (still fetched for the job when the
            # workflow comes from a URL)
            lib_for("download_dataset", tracked=False),
        output:
            idx_files(),
        log:
            f"{LOGS}/download_dataset.log",
        conda:
            "../envs/aeclust.yaml"
        threads: 1
        resources:
            # peak RSS 0.16 GB (MNIST: a whole .gz in memory, then decompressed); runtime in
            # minutes covers the worst case: 4 files x 2 mirrors x 3 attempts x 30 s timeout
            mem_mb=1000,
            runtime=30,
        params:
            files=list(DS["files"].values()),
            sha256=DS["sha256"],
        script:
            "../scripts/download_dataset.py"

else:

    rule import_images:
        """A user's own images (a folder of image files or an .npy / .npz array) read once
        into one normalised file: uint8 pixels at the configured size and channels, a class
        id per image (or none), the source of every image (README "Your own images").
        """
        input:
            image_source_files(),
            code=lib_for("import_images"),
        output:
            images=f"{DATA}/images.npz",
        log:
            f"{LOGS}/import_images.log",
        conda:
            "../envs/aeclust.yaml"
        threads: 2
        resources:
            mem_mb=mem_mb_of("import_images", size_mb=import_size_mb()),
            runtime=runtime_of("import_images", size_mb=import_size_mb()),
        params:
            name=DATASET,
            files=image_folder_state(),
            source={
                k: DS.get(k)
                for k in (
                    "source",
                    "path",
                    "labels",
                    "labels_csv",
                    "labels_path",
                    "image_size",
                    "channels",
                    "skip_unreadable",
                    "max_pixels",
                )
            },
        script:
            "../scripts/import_images.py"


rule make_subsets:
    """Stratified, seeded clustering and training subsets of one replicate, with provenance.

    Each replicate seed draws its own images (subsets.per_replicate, the default), so the
    spread over seeds covers which images a rerun of the study would draw."""
    input:
        unpack(dataset_input),
        code=lib_for("make_subsets"),
    output:
        cluster=f"{R}/subsets/cluster_s{{seed}}.npz",
        train=f"{R}/subsets/train_s{{seed}}.npz",
    log:
        f"{LOGS}/make_subsets/s{{seed}}.log",
    conda:
        "../envs/aeclust.yaml"
    threads: 1
    resources:
        mem_mb=mem_mb_of("make_subsets"),
        runtime=runtime_of("make_subsets"),
    params:
        # subsets.deskew as it acts (a dataset may turn it off), not as it is written
        subsets=subsets_settings(),
        deskew=deskews(),
        holdout=DS.get("holdout", 0.0),
    script:
        "../scripts/make_subsets.py"
