# N2D's manifold: a UMAP embedding of a feature set (pixels or an autoencoder's codes).
# Its output is an ordinary feature set, which cluster_kmeans and cluster_gmm
# (rules/clustering.smk) cluster like every other.


rule embed_umap:
    """UMAP of raw pixels or one seed's embeddings (feature sets ae_e{E}_umap, raw_umap)."""
    input:
        features=umap_input,
        code=lib_for("embed_umap"),
    output:
        features=f"{R}/features/{{base}}_umap_s{{seed}}.npz",
    log:
        f"{LOGS}/embed_umap/{{base}}_s{{seed}}.log",
    benchmark:
        f"{BENCH}/embed_umap/{{base}}_s{{seed}}.tsv"
    conda:
        "../envs/aeclust.yaml"
    # umap-learn runs single-threaded when seeded; a second thread would sit idle.
    threads: 1 if config["umap"]["seeded"] else 2
    resources:
        mem_mb=mem_mb_of("embed_umap"),
        runtime=runtime_of("embed_umap"),
    params:
        n_components=config["umap"]["n_components"],
        n_neighbors=config["umap"]["n_neighbors"],
        min_dist=config["umap"]["min_dist"],
        metric=config["umap"]["metric"],
        seeded=config["umap"]["seeded"],
    script:
        "../scripts/embed_umap.py"
