# Helpers shared by the workflow: config validation, paths, target lists, input
# functions and wildcard constraints. The other .smk files hold only rules.
import importlib.util
import os

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


def _library_module(name):
    """One torch-free module of the library, loaded from its file: parse time needs it
    before any job runs, and a host workflow need not have aeclust installed."""
    path = str(workflow.source_path(f"../scripts/aeclust/{name}.py"))
    spec = importlib.util.spec_from_file_location(f"_aeclust_{name}", path)
    lib_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lib_module)
    return lib_module


def _cache_library():
    """Put every library module in Snakemake's source cache. Jobs run their script from that
    cache and find the library beside it, but a file is there only once source_path has seen
    it: a module that no rule names in lib() (download.py) would be missing from the job's
    ``aeclust`` package."""
    folder = os.path.join(str(workflow.current_basedir), "..", "scripts", "aeclust")
    if os.path.isdir(
        folder
    ):  # a local checkout; as a remote module the files come with each job
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                workflow.source_path(f"../scripts/aeclust/{name}")


_cache_library()
_CONFIG = _library_module("config")
_SCHEMA = "../schemas/config.schema.yaml"


def _validate_config(cfg):
    """Numbers typed on the command line first, then the schema (with defaults), then the
    checks that need more than one key. Errors are one line naming the key."""
    with open(workflow.source_path(_SCHEMA)) as f:
        cfg.update(_CONFIG.coerce_strings(dict(cfg), yaml.safe_load(f)))
    try:
        validate(cfg, _SCHEMA)
    except WorkflowError as exc:
        cause = exc.__cause__ or exc.__context__
        msg = getattr(cause, "message", None) or str(exc).strip().splitlines()[-1]
        where = _CONFIG.key_path(getattr(cause, "absolute_path", []))
        raise WorkflowError(f"config error at {where}: {msg}") from None
    _CONFIG.resolve_dataset(cfg)  # labels: auto and kmeans.k: null made explicit
    errors = list(_CONFIG.semantic_errors(cfg))
    if errors:
        raise WorkflowError("config error: " + "; ".join(errors))


_validate_config(config)

DATASET = config["dataset"]
DS = config["datasets"][DATASET]
DATA = f"data/{DATASET}"
# idx: MNIST-style IDX files; folder / array: a user's own images (rule import_images).
SOURCE = DS["source"]
# Whether the images have labels: without them no label metrics, no claims, no classifier.
LABELLED = SOURCE == "idx" or DS["labels"] != "none"
R = f"results/{DATASET}/{config['experiment']}"
LOGS = f"{R}/logs"
BENCH = f"{R}/benchmarks"
SEEDS = config["seeds"]
EPOCHS = config["autoencoder"]["epochs"]
DN = f"{R}/denoise"
RATES = [_CONFIG.rate_label(r) for r in config["denoise"]["rates"]]


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
    return [
        str(workflow.source_path(f"../scripts/aeclust/{m}"))
        for m in ("__init__.py", "io.py", "runtime.py", *modules)
    ]


def gpus():
    """GPUs for a job that runs a network: one when config asks for `device: cuda`, else none.

    A job that must have CUDA has to land on a GPU node (on SLURM, `gpu=1` becomes
    `sbatch --gpus=1`); with `auto` or `cpu` it fits any node, and `auto` still uses
    a GPU that a profile's `set-resources` gives it (docs/cluster.md)."""
    return 1 if config["device"] == "cuda" else 0


def idx_files():
    return [f"{DATA}/{name}" for name in DS["files"].values()]


def image_source_files():
    """The user's images and labels files (folder or array), inputs of import_images."""
    files = [DS["path"]]
    files += [DS[k] for k in ("labels_csv", "labels_path") if DS.get(k)]
    return files


def dataset_input(wildcards):
    """What make_subsets draws from: the IDX files, or the normalised images file."""
    if SOURCE == "idx":
        return {"idx": idx_files()}
    return {"images": f"{DATA}/images.npz"}


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
        return f"{R}/subsets/cluster_s{seed}.npz"
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
    return [
        f"{DN}/denoising.csv",
        f"{DN}/denoising.md",
        f"{DN}/figures/examples.png",
        f"{DN}/figures/curves.png",
    ]


def embedding_views():
    """Feature sets shown in 2-D in the report: pixels, each autoencoder's embeddings, UMAPs that are clustered."""
    return [
        "raw",
        *[f"ae_e{e}" for e in EPOCHS],
        *[f for f in feature_sets() if f.endswith("_umap")],
    ]


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
    """The figures made for the report (workflow/rules/report.smk); accuracy needs labels."""
    figures = [f"{R}/figures/accuracy.png"] if LABELLED else []
    figures += [f"{R}/figures/samples.png"]
    figures += [f"{R}/figures/training/ae_e{e}.png" for e in EPOCHS]
    figures += [
        f"{R}/figures/embeddings/{f}_s{SEEDS[0]}.png" for f in embedding_views()
    ]
    return figures


def image_targets():
    """A user's own images: internal criteria and what each cluster holds (rules/clusters.smk)."""
    if SOURCE == "idx":
        return []
    targets = [f"{R}/internal.csv", f"{R}/internal.md"]
    return targets + [f"{R}/figures/clusters/{a}_{f}.png" for a, f in methods()]


def label_targets():
    """What needs labels: accuracy, NMI, ARI, the study's claims, the PCA sweep, confusion matrices."""
    if not LABELLED:
        return []
    targets = [
        f"{R}/summary.csv",
        f"{R}/summary.md",
        f"{R}/pca_sweep.csv",
        f"{R}/figures/pca_sweep.png",
    ]
    return targets + [f"{R}/figures/confusion/{a}_{f}.png" for a, f in methods()]


def all_targets():
    targets = label_targets() + [f"{R}/clusters.csv"]
    targets += report_figures()
    targets += denoise_targets()
    targets += image_targets()
    return targets
