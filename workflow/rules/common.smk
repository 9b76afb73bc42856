# Helpers shared by the workflow: config validation, paths, target lists, input
# functions and wildcard constraints. The other .smk files hold only rules.
import os
from pathlib import Path, PurePosixPath

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


def _validate_config(cfg):
    """Schema (with defaults) first, then the checks that need more than one key."""
    try:
        validate(cfg, str(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"))
    except WorkflowError as exc:
        cause = exc.__cause__ or exc.__context__
        msg = getattr(cause, "message", None) or str(exc).strip().splitlines()[-1]
        where = str(PurePosixPath(*map(str, getattr(cause, "absolute_path", [])))) or "(top level)"
        raise WorkflowError(f"config error at {where}: {msg}") from None
    errors = [*_semantic_errors(cfg), *_denoise_errors(cfg)]
    if errors:
        raise WorkflowError("config error: " + "; ".join(errors))


def _embedding_dim(cfg):
    ae = cfg["autoencoder"]
    return 64 if ae["arch"] == "conv" else ae["latent"]


def _subset_size(spec, ds):
    if spec["per_class"] is None:
        return None
    return 10 * spec["per_class"]


def _semantic_errors(cfg):
    if cfg["dataset"] not in cfg["datasets"]:
        yield f"dataset: {cfg['dataset']!r} is not described under datasets (known: {', '.join(sorted(cfg['datasets']))})"
        return
    ds = cfg["datasets"][cfg["dataset"]]
    missing = set(ds["files"].values()) - set(ds["sha256"])
    if missing:
        yield f"datasets/{cfg['dataset']}/sha256: no checksum for {', '.join(sorted(missing))}"
    sub = cfg["subsets"]
    for name in ("cluster", "train"):
        spec = sub[name]
        split, per_class = spec["split"], spec["per_class"]
        if per_class is None:
            continue
        holds = sum(ds["min_class_count"].values()) if split == "all" else ds["min_class_count"][split]
        if name == "train" and sub["train"]["exclude_cluster"] and sub["cluster"]["per_class"] is not None:
            if split == sub["cluster"]["split"] or "all" in (split, sub["cluster"]["split"]):
                holds -= sub["cluster"]["per_class"]
        if per_class > holds:
            yield f"subsets/{name}/per_class: {per_class} is more than the {split} split holds for every class (allowed: 1..{holds})"
    dim = _embedding_dim(cfg)
    n_cluster = _subset_size(sub["cluster"], ds)
    limit = dim if n_cluster is None else min(dim, n_cluster)
    for key, values in (("pca/components", [cfg["pca"]["components"]]), ("pca/sweep", cfg["pca"]["sweep"])):
        for v in values:
            if v > limit:
                yield f"{key}: {v} components is more than the embedding allows (allowed: 1..{limit})"
    extra = set(cfg["pca"]["epochs"]) - set(cfg["autoencoder"]["epochs"])
    if extra:
        yield f"pca/epochs: {sorted(extra)} not in autoencoder/epochs {cfg['autoencoder']['epochs']}"
    if n_cluster is not None and cfg["kmeans"]["k"] > n_cluster:
        yield f"kmeans/k: {cfg['kmeans']['k']} clusters for {n_cluster} images (allowed: 2..{n_cluster})"
    extra = set(cfg["umap"]["epochs"]) - set(cfg["autoencoder"]["epochs"])
    if extra:
        yield f"umap/epochs: {sorted(extra)} not in autoencoder/epochs {cfg['autoencoder']['epochs']}"
    umap_used = any(kind.endswith("_umap") for kinds in cfg["clustering"].values() for kind in kinds)
    if umap_used and n_cluster is not None:
        if cfg["umap"]["n_neighbors"] >= n_cluster:
            yield f"umap/n_neighbors: {cfg['umap']['n_neighbors']} neighbours for {n_cluster} images (allowed: 2..{n_cluster - 1})"
        if cfg["umap"]["n_components"] >= n_cluster - 1:
            yield f"umap/n_components: {cfg['umap']['n_components']} dimensions for {n_cluster} images (allowed: 1..{n_cluster - 2})"


def _denoise_errors(cfg):
    den, cluster, train = cfg["denoise"], cfg["subsets"]["cluster"], cfg["subsets"]["train"]
    splits = {cluster["split"], train["split"]}
    if den["enabled"] and not train["exclude_cluster"] and (len(splits) == 1 or "all" in splits):
        yield (f"denoise/enabled: de-noisers are scored on the clustering images, which may be training images here "
               f"(subsets.train.exclude_cluster: false, splits {cluster['split']} and {train['split']}); "
               "set denoise.enabled: false or make the sets disjoint")
    labels = [_rate_label(r) for r in den["rates"]]
    if len(set(labels)) < len(labels):
        yield f"denoise/rates: {den['rates']} name the same rate twice at 6 decimals ({labels})"
    per_class = den["eval_per_class"]
    if per_class is not None and cluster["per_class"] is not None and per_class > cluster["per_class"]:
        yield f"denoise/eval_per_class: {per_class} images per digit, the clustering subset holds {cluster['per_class']} (allowed: 1..{cluster['per_class']})"


def _rate_label(rate):
    """A noise rate as file names show it: 0.2, 0.25 (at most 6 decimals, no trailing zeros)."""
    return f"{rate:.6f}".rstrip("0")


_validate_config(config)

# The local mirror decides where bytes come from, not what they are (checksums fix
# that), so it is not a parameter of any job: switching mirrors never reruns anything.
# The optional environment variable wins over the config key; the download script reads it.
if config["mirror"]:
    os.environ.setdefault("AECLUST_MIRROR", config["mirror"])

# OpenMP threads that spin while they wait (libgomp's default) starve each other when
# other processes share the cores; threads that sleep at once (OMP_WAIT_POLICY=PASSIVE)
# pay a wake-up on each of the ~100 operations of a training step. A short spin is both:
# measured on 2 cores, N2D's MLP autoencoder (batch 256) alone: 181 GFLOP/s spinning,
# 128 passive, 148 with GOMP_SPINCOUNT=3000; two trainings at once on the 2 cores
# (samples/s each): 1,400 spinning (collapse), 4,440 passive, 3,810 short spin. libgomp
# reads GOMP_SPINCOUNT (other OpenMP runtimes ignore it); the environment wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "3000")

# Scripts import the library of this checkout (the files tracked as inputs), with or
# without `pip install -e .`, and inside --use-conda environments too.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        p for p in (str(Path(workflow.basedir) / "workflow"), os.environ.get("PYTHONPATH")) if p
    )
)

DATASET = config["dataset"]
DS = config["datasets"][DATASET]
DATA = f"data/{DATASET}"
R = f"results/{DATASET}/{config['experiment']}"
LOGS = f"{R}/logs"
BENCH = f"{R}/benchmarks"
SEEDS = config["seeds"]
EPOCHS = config["autoencoder"]["epochs"]
LIB = Path(workflow.basedir) / "workflow" / "aeclust"
DN = f"{R}/denoise"
RATES = [_rate_label(r) for r in config["denoise"]["rates"]]


wildcard_constraints:
    seed=r"\d+",
    epochs=r"\d+",
    n=r"\d+",
    rate=r"0\.\d+",
    algo=r"kmeans|gmm",
    feat=r"(raw|ae_e\d+)(_umap)?|ae_e\d+_pca\d+",
    base=r"raw|ae_e\d+",


def lib(*modules):
    """Library modules that a job runs, tracked as inputs: editing them makes outputs stale."""
    return [str(LIB / m) for m in ("__init__.py", "io.py", "runtime.py", *modules)]


def gpus():
    """GPUs for a job that runs a network: one when config asks for `device: cuda`, else none.

    A job that must have CUDA has to land on a GPU node (on SLURM, `gpu=1` becomes
    `sbatch --gpus=1`); with `auto` or `cpu` it fits any node, and `auto` still uses
    a GPU that a profile's `set-resources` gives it (docs/cluster.md)."""
    return 1 if config["device"] == "cuda" else 0


def idx_files():
    return [f"{DATA}/{name}" for name in DS["files"].values()]


# Kinds of feature set that config's `clustering` names, in the summary table's order.
FEATURE_KINDS = ("raw", "raw_umap", "ae", "ae_pca", "ae_umap")


def features_of(kind):
    """The feature sets of one kind: raw pixels, embeddings, PCA or UMAP of either."""
    pca = config["pca"]
    return {
        "raw": ["raw"],
        "raw_umap": ["raw_umap"],
        "ae": [f"ae_e{e}" for e in EPOCHS],
        "ae_pca": [f"ae_e{e}_pca{pca['components']}" for e in pca["epochs"]],
        "ae_umap": [f"ae_e{e}_umap" for e in config["umap"]["epochs"]],
    }[kind]


def feature_sets():
    """Every feature set that some algorithm clusters: pixels, embeddings, PCA or UMAP of them."""
    return list(dict.fromkeys(f for _, f in methods()))


def methods():
    """(algorithm, feature set) pairs, by feature set, then K-Means before the mixture."""
    return [
        (algo, f)
        for kind in FEATURE_KINDS
        for f in features_of(kind)
        for algo in ("kmeans", "gmm")
        if kind in config["clustering"][algo]
    ]


def feature_file(feat, seed):
    """The file holding feature set ``feat`` of seed ``seed`` (raw pixels: the clustering subset)."""
    if feat == "raw":
        return f"{R}/subsets/cluster.npz"
    return f"{R}/features/{feat}_s{seed}.npz"


def features_input(wildcards):
    """The file holding feature set ``feat`` for seed ``seed``."""
    return feature_file(wildcards.feat, wildcards.seed)


def umap_input(wildcards):
    """What embed_umap maps: raw pixels or one seed's embeddings (wildcard ``base``)."""
    return feature_file(wildcards.base, wildcards.seed)


def sweep_epochs():
    return max(config["pca"]["epochs"] or EPOCHS)


def ae_settings():
    ae = config["autoencoder"]
    s = {"kind": "autoencoder", "arch": ae["arch"]}
    if ae["arch"] == "conv":
        s.update(channels=ae["channels"])
    if ae["arch"] == "mlp":
        s.update(mlp_dims=ae["mlp_dims"], latent=ae["latent"])
    return s


def denoiser_settings():
    """The de-noiser's architecture settings (the rate and seed come from the wildcards)."""
    return {"kind": "autoencoder", "arch": config["denoise"]["arch"]}


def denoise_targets():
    if not config["denoise"]["enabled"]:
        return []
    return [f"{DN}/denoising.csv", f"{DN}/denoising.md", f"{DN}/figures/examples.png", f"{DN}/figures/curves.png"]


def embedding_views():
    """Feature sets shown in 2-D in the report: pixels, each autoencoder's embeddings, UMAPs that are clustered."""
    return ["raw", *[f"ae_e{e}" for e in EPOCHS], *[f for f in feature_sets() if f.endswith("_umap")]]


def published():
    """The papers' accuracies for this dataset (summary.md shows them beside ours), only when
    we cluster the images they clustered: all of them."""
    cluster = config["subsets"]["cluster"]
    whole = cluster["split"] == "all" and cluster["per_class"] is None
    return dict(DS.get("published", {})) if whole else {}


def denoising_table():
    """The de-noising table that the summary checks the study's Section 3 against; none without de-noising."""
    return [f"{DN}/denoising.csv"] if config["denoise"]["enabled"] else []


def report_figures():
    """The figures made for the report (workflow/rules/report.smk)."""
    figures = [f"{R}/figures/accuracy.png", f"{R}/figures/samples.png"]
    figures += [f"{R}/figures/training/ae_e{e}.png" for e in EPOCHS]
    figures += [f"{R}/figures/embeddings/{f}_s{SEEDS[0]}.png" for f in embedding_views()]
    return figures


def all_targets():
    targets = [f"{R}/summary.csv", f"{R}/summary.md", f"{R}/pca_sweep.csv", f"{R}/figures/pca_sweep.png"]
    targets += [f"{R}/figures/confusion/{a}_{f}.png" for a, f in methods()]
    targets += report_figures()
    targets += denoise_targets()
    return targets
