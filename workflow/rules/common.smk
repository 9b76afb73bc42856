# Helpers shared by the workflow: config validation, paths, target lists, input
# functions and wildcard constraints. The other .smk files hold only rules.
import copy
import functools
import importlib.util
import os
import re
import sys

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

# Where the library's files are, and how a rule's script finds them.
#
# A local workflow (a clone, or a module named by its path) reads them in place. Not
# through workflow.source_path: for a local file, Snakemake 9 returns a copy in a
# per-invocation runtime cache (a new temporary folder each run), so inputs named by it
# changed every run ("Set of input files has changed") and a no-op rerun re-executed the
# whole DAG; and a job would find a cached, partial aeclust package before the real one
# beside its script.
#
# A workflow fetched from a URL (a module whose snakefile is `github(...)` or an http(s)
# address, as snakedeploy writes it) has no folder to read. There the library goes the
# way Snakemake's own sources go: each module a rule's script imports (and __init__.py) is
# fetched through Snakemake's source cache, which lays it out as in the repository, so
# that it lands beside the cached copy of the script; Snakemake puts that folder on the
# script's sys.path, so the job imports it from there (no install into the rule's
# environment, which a plain local run does not have). The source cache of a URL is a
# new temporary folder each run, so the inputs that track the library are copies at a
# fixed place under the working directory's .snakemake/ folder, rewritten only when a
# module's text changes: a no-op rerun stays a no-op, an edited module makes its users
# stale.
_BASEDIR = workflow.current_basedir
_LOCAL = bool(getattr(_BASEDIR, "is_local", False))
_LIB = (
    os.path.normpath(os.path.join(str(_BASEDIR), "..", "scripts", "aeclust"))
    if _LOCAL
    else None
)
_TRACKED = os.path.join(".snakemake", "aeclust-library")


def _library_source(name):
    """The local path of the library's file ``name`` (``io.py``), fetched when the
    workflow comes from a URL; None when the library has no such file."""
    if _LOCAL:
        path = os.path.join(_LIB, name)
        return path if os.path.isfile(path) else None
    source = _BASEDIR.join(f"../scripts/aeclust/{name}")
    if not workflow.sourcecache.exists(source):
        return None
    return workflow.sourcecache.get_path(source)


def _tracked_path(name):
    """The input path that tracks the library's file ``name`` (the file itself in a local
    workflow, a copy at a fixed place in one fetched from a URL)."""
    path = _library_source(name)
    if _LOCAL:
        return path
    where = _BASEDIR.join(f"../scripts/aeclust/{name}").get_cache_path()
    copy_path = os.path.join(_TRACKED, where)
    with open(path, "rb") as f:
        text = f.read()
    if os.path.exists(copy_path):
        with open(copy_path, "rb") as f:
            if f.read() == text:
                return copy_path
    os.makedirs(os.path.dirname(copy_path), exist_ok=True)
    with open(copy_path, "wb") as f:
        f.write(text)
    return copy_path


def _library_module(name):
    """One torch-free module of the library, loaded from its file: parse time needs it
    before any job runs, and a host workflow need not have aeclust installed."""
    path = _library_source(f"{name}.py")
    if path is None:
        raise WorkflowError(f"aeclust's library has no module {name}.py")
    # config.py loads the modules it needs from beside it: the same file, loaded once
    loaded = sys.modules.get(f"_aeclust_{name}")
    if loaded and os.path.samefile(loaded.__file__, path):
        return loaded
    spec = importlib.util.spec_from_file_location(f"_aeclust_{name}", path)
    lib_module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = lib_module  # dataclasses look their module up
    spec.loader.exec_module(lib_module)
    return lib_module


_IMPORTS = _library_module("imports")  # which library modules a script or module runs


@functools.cache
def _module_text(name):
    """The source of the library's module ``name`` (``io``), None when there is none
    (fetched where the workflow comes from a URL)."""
    path = _library_source(f"{name}.py")
    if path is None:
        return None
    with open(path) as f:
        return f.read()


# config.py loads the modules it imports from the files beside it: reading them fetches
# them where the workflow comes from a URL
_IMPORTS.closure("from aeclust import config", _module_text)
_CONFIG = _library_module("config")  # the loader: config/config.yaml, schema, checks
_PARAMS = _library_module("params")  # rule params built from the loaded config
_SCHEMA = "../schemas/config.schema.yaml"
_DEFAULTS = "../../config/config.yaml"


def _user_layer(cfg):
    """What the user set, without config/config.yaml's defaults: in a direct run every
    --configfile and --config merged (Snakemake's own record of them), as a module the
    `config:` that the host hands over (the defaults are not under it yet). Snakemake's
    internals, not a public API: where they differ, all that arrives counts as set."""
    try:
        if workflow.modifier.skip_configfile:
            return copy.deepcopy(cfg)
        return copy.deepcopy(workflow.config_settings.overwrite_config)
    except AttributeError:
        return copy.deepcopy(cfg)


def _load_config(cfg):
    """``config`` replaced by aeclust.config.load_config's resolved and checked settings
    (defaults, typed command-line values, schema, own-image defaults, cross-key checks);
    a problem stops the run before any job, one line per problem naming the key."""
    with open(workflow.source_path(_DEFAULTS)) as f:
        defaults = yaml.safe_load(f)
    with open(workflow.source_path(_SCHEMA)) as f:
        schema = yaml.safe_load(f)
    try:
        resolved = _CONFIG.load_config(
            cfg,
            _user_layer(cfg),
            defaults=defaults,
            schema=schema,
            note=lambda line: logger.warning(f"aeclust: {line}"),
        )
    except _CONFIG.ConfigError as exc:
        raise WorkflowError(str(exc)) from None
    cfg.clear()
    cfg.update(resolved)


_load_config(config)


def _cap_cores_at_machine():
    """A local run uses at most this machine's cores, whatever `--cores` says.

    `snakemake --cores 4` on 2 cores ran two 2-thread trainings at once, each at a
    fifth of the speed it has alone (measured on the conv autoencoder): the cores Snakemake hands out are
    capped here, so a 2-thread network job runs alone and 1-thread jobs run two at a
    time. Cluster submission is left alone: there `--jobs` sets nodes, and Snakemake
    itself does not limit cores locally when nodes are set; nor are jobs running on a
    node (remote execution)."""
    try:  # Snakemake's scheduler state, not a public API: where it differs, no cap
        if (
            workflow.remote_exec
            or workflow.global_resources["_nodes"].value is not None
        ):
            return
        cores = workflow.global_resources["_cores"].value
    except (AttributeError, KeyError, TypeError):
        return
    machine = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count()
    )
    if cores is not None and machine and cores > machine:
        workflow.global_resources["_cores"] = machine
        logger.info(
            f"aeclust: --cores {cores} capped at this machine's {machine} cores"
        )


_cap_cores_at_machine()

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


# The method-id grammar is aeclust/methods.py's; the wildcards that spell method ids in
# paths (clusters/{algo}/{feat}_s{seed}.npz) are built from it.
_METHODS = _library_module("methods")
METHOD_WILDCARDS = _METHODS.WILDCARDS


wildcard_constraints:
    seed=r"\d+",
    epochs=r"\d+",
    n=r"\d+",
    rate=r"0\.\d+",
    # selflabel/{algo}_{feat}: the self-labeling stage's relabelling of clustering algo/feat
    algo=METHOD_WILDCARDS["algo"],
    feat=METHOD_WILDCARDS["feat"],
    base=METHOD_WILDCARDS["base"],


def lib_for(script, tracked=True):
    """The library modules that the rule script ``scripts/<script>.py`` runs, as inputs
    of its rule: editing one makes exactly the outputs of the rules that run it stale.
    They are the script's aeclust imports (module level and inside functions), followed
    through the library (aeclust/imports.py). __init__.py is left out (it holds only the
    version string), but fetched where the workflow comes from a URL: jobs import it.
    ``tracked=False``: none (a rule whose code never makes its outputs stale), but
    fetched all the same where the workflow comes from a URL."""
    modules = _script_modules(script)
    return list(modules) if tracked else []


@functools.cache
def _script_modules(script):
    if _LOCAL:
        path = os.path.join(str(_BASEDIR), "..", "scripts", f"{script}.py")
    else:
        path = workflow.sourcecache.get_path(_BASEDIR.join(f"../scripts/{script}.py"))
        _library_source("__init__.py")
    with open(path) as f:
        modules = _IMPORTS.closure(f.read(), _module_text, filename=f"{script}.py")
    return tuple(_tracked_path(f"{m}.py") for m in modules)


_RESOURCES = _library_module("resources")


def mem_mb_of(rule, size_mb=None):
    """A heavy rule's ``mem_mb``, from the size of its job's input files (Snakemake's
    ``input.size_mb``, or ``size_mb`` where that says nothing, as for a folder):
    max(floor, base + factor x input MB), each rule's numbers in aeclust/resources.py,
    where bench/scale.py checks them against measured peaks."""

    def megabytes(wildcards, input):
        size = input.size_mb if size_mb is None else size_mb
        return _RESOURCES.mem_mb(rule, size)

    return megabytes


def runtime_of(rule, work=1, size_mb=None):
    """A heavy rule's ``runtime`` in minutes, from the size of its input files:
    max(floor, minutes per input MB x input MB x ``work``), ``work`` being the epochs a
    training job runs, a number or a function of the job's wildcards (aeclust/resources.py).
    Each retry (`--retries`, as profiles/slurm sets) gets that much more time: a training job
    resumes from its last epoch's checkpoint, so a job stopped at its limit finishes.
    """

    def minutes(wildcards, input, attempt):
        epochs = work(wildcards) if callable(work) else work
        size = input.size_mb if size_mb is None else size_mb
        return _RESOURCES.runtime(rule, size, epochs, attempt)

    return minutes


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


# A folder source's image files, found once at parse time (the loader counted them too).
FOUND = _CONFIG.find_images(DS) if SOURCE == "folder" else None


def image_folder_state():
    """A digest of the image folder's files (names, sizes, modification times): a params
    value of import_images, so images replaced in place, which leave the folder's own time
    unchanged, still reimport the folder. None for an array or IDX source."""
    return FOUND.state() if FOUND is not None else None


def import_size_mb():
    """What import_images works on, in MB, for a folder: its images decoded at the target
    size (a folder's own size on disk is that of its entry). A folder keeping the images'
    own size (``image_size: null``) is counted at 64 x 64; colour (``channels: null``) as 3.
    None for an array, whose file size Snakemake measures."""
    if FOUND is None:
        return None
    size = DS.get("image_size") or 64
    height, width = (size, size) if isinstance(size, int) else size
    return _RESOURCES.import_mb(
        len(FOUND.files), height, width, DS.get("channels") or 3
    )


def dataset_input(wildcards):
    """What make_subsets draws from: the IDX files, or the normalised images file."""
    if SOURCE == "idx":
        return {"idx": idx_files()}
    return {"images": f"{DATA}/images.npz"}


def feature_sets():
    """Every feature set that some algorithm clusters: pixels, embeddings, PCA or UMAP of them."""
    return list(dict.fromkeys(f for _, f in clusterings()))


def clusterings():
    """(algorithm, feature set) pairs, by feature set, then K-Means before the mixture
    (aeclust.config, whose check of selflabel.from uses the same list)."""
    return _CONFIG.clusterings(config)


def methods():
    """Every method the summary reports, as (algorithm, feature set) pairs: the clusterings,
    then the self-labeling stage's relabelling of each (``selflabel``, ``{algo}_{feat}``).
    """
    return clusterings() + [("selflabel", f"{a}_{f}") for a, f in selflabel_sources()]


def selflabel_sources():
    """The clusterings the self-labeling stage relabels (config selflabel.from, each a
    clustering of this config: the loader checked it), as (algo, feat)."""
    return _CONFIG.selflabel_sources(config)


def selflabel_space_input(wildcards):
    """The features the first selection compares neighbours in: the codes of the source's
    autoencoder (``ae``), the pixels (``raw``) or the features the source clustered (``source``).
    """
    space, feat = config["selflabel"]["space"], wildcards.feat
    if space == "source":
        return feature_file(feat, wildcards.seed)
    if space == "raw":
        return feature_file("raw", wildcards.seed)
    return feature_file(_METHODS.base_of(feat), wildcards.seed)


def selflabel_settings():
    """The self-labeling rule's params (the dataset's own augmentation merged in)."""
    return _PARAMS.selflabel_settings(config)


def subsets_settings():
    """make_subsets' draw settings (subsets.deskew is its own param, as it acts)."""
    return _PARAMS.subsets_settings(config)


def deskews():
    """Whether make_subsets deskews: subsets.deskew, unless the dataset turns it off."""
    return _PARAMS.deskews(config)


def feature_file(feat, seed):
    """The file holding feature set ``feat`` of seed ``seed`` (raw pixels: the clustering subset)."""
    if feat == "raw":
        return f"{R}/subsets/cluster_s{seed}.npz"
    return f"{R}/features/{feat}_s{seed}.npz"


def method_space(algo, feat):
    """The feature set a method's clusters are judged in: its own, or for a self-labeled
    method the one its source clustering used (selflabel/gmm_ae_e2_umap: ae_e2_umap)."""
    return _METHODS.space(algo, feat)


def features_input(wildcards):
    """The file holding feature set ``feat`` for seed ``seed``."""
    return feature_file(wildcards.feat, wildcards.seed)


def umap_input(wildcards):
    """What embed_umap maps: raw pixels or one seed's embeddings (wildcard ``base``)."""
    return feature_file(wildcards.base, wildcards.seed)


def sweep_epochs():
    return max(config["pca"]["epochs"] or EPOCHS)


def previous_ae_state(wildcards):
    """The training state an autoencoder continues from: that of the next smaller epoch
    count of the same seed (none for the smallest), so each seed's network is trained
    once, whatever the epoch counts, and a larger new count trains only its extra epochs.
    """
    smaller = [e for e in EPOCHS if e < int(wildcards.epochs)]
    if not smaller:
        return []
    return [f"{R}/models/ae_e{max(smaller)}_s{wildcards.seed}_state.pt"]


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
    dn = config["denoise"]
    s = {"kind": "autoencoder", "arch": dn["arch"]}
    if dn["arch"] == "denoiser":
        s.update(channels=dn["channels"])
    return s


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


_STUDY = _library_module("study")


def design_differences():
    """How this experiment differs from the study's design (1,000 clustered MNIST test
    images, 100 per digit; networks on 1,000 per digit): empty when it is the study's,
    and only then are the study's numbers and verdicts shown (aeclust/study.py)."""
    return _STUDY.design_differences(DATASET, config["subsets"])


def classifier_on_training():
    """Whether the supervised classifier is scored on images it may have been trained on:
    the clustering and training subsets can share images (same split, or `all`, without
    `exclude_cluster`), as in the full preset."""
    sub = config["subsets"]
    splits = {sub["cluster"]["split"], sub["train"]["split"]}
    return not sub["train"]["exclude_cluster"] and (len(splits) == 1 or "all" in splits)


def published():
    """The papers' accuracies for this dataset (summary.md shows them beside ours), only when
    we cluster the images they clustered: all of them."""
    cluster = config["subsets"]["cluster"]
    whole = cluster["split"] == "all" and cluster["per_class"] is None
    return dict(DS.get("published", {})) if whole else {}


def legibility_classifier():
    """The supervised classifier that scores the de-noised images' legibility: one per seed
    where the images have labels, none without (de-noising then reports PSNR and SSIM).
    """
    return [f"{R}/models/classifier_s{{seed}}.pt"] if LABELLED else []


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
    """A user's own images: internal criteria and what each cluster holds (rules/inspect.smk)."""
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
