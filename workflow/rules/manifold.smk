# The N2D steps: a UMAP manifold of a feature set, and Gaussian-mixture clustering.
# Their outputs are ordinary feature sets and clusterings, so align_clusters,
# plot_confusion and summarize treat them like every other method.


rule embed_umap:
    """UMAP of raw pixels or one seed's embeddings (feature sets ae_e{E}_umap, raw_umap)."""
    input:
        features=umap_input,
        code=lib("cluster.py", "io.py", "manifold.py", "runtime.py"),
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
        mem_mb=4000,
        runtime=30,
    params:
        n_components=config["umap"]["n_components"],
        n_neighbors=config["umap"]["n_neighbors"],
        min_dist=config["umap"]["min_dist"],
        metric=config["umap"]["metric"],
        seeded=config["umap"]["seeded"],
    script:
        "../scripts/embed_umap.py"


rule cluster_gmm:
    """Gaussian mixture (EM from k-means, best likelihood of n_init) on one feature set and seed."""
    input:
        features=features_input,
        code=lib("cluster.py", "io.py", "manifold.py", "runtime.py"),
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
        mem_mb=2000,
        runtime=20,
    params:
        k=config["kmeans"]["k"],
        covariance_type=config["gmm"]["covariance_type"],
        n_init=config["gmm"]["n_init"],
        max_iter=config["gmm"]["max_iter"],
    script:
        "../scripts/cluster_gmm.py"
