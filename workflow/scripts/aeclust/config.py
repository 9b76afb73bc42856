"""The workflow's configuration, loaded once (:func:`load_config`): config/config.yaml's
defaults under the user's settings, strings typed on the command line made numbers, the
JSON Schema (workflow/schemas/config.schema.yaml), a user's own images' defaults, what
``auto`` and ``null`` stand for, then every check that needs more than one key. Each
problem is one line, ``config error at <key/path>: <what was expected>``.

Self-contained on purpose (standard library, PyYAML and jsonschema, which Snakemake brings,
and the sibling :mod:`aeclust.discover`): the workflow loads this file by its path at
parse time, so that a host workflow using aeclust as a module needs neither an installed
aeclust nor a changed ``sys.path``. Rule params are built from the result by
:mod:`aeclust.params`.
"""

from __future__ import annotations

import copy
import csv
import importlib.util
import os
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def _beside(name: str):
    """The library module ``name`` loaded from the file beside this one (the workflow loads
    this module by its file path at parse time, outside any package)."""
    spec = importlib.util.spec_from_file_location(
        f"_aeclust_{name}", os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    )
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


try:
    from . import discover as _discover
    from . import methods as _methods
except ImportError:
    _discover, _methods = _beside("discover"), _beside("methods")

_HERE = Path(__file__).resolve().parent
DEFAULTS_FILE = _HERE.parents[2] / "config" / "config.yaml"
SCHEMA_FILE = _HERE.parents[1] / "schemas" / "config.schema.yaml"

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _types(schema: dict) -> set[str]:
    t = schema.get("type", [])
    return {t} if isinstance(t, str) else set(t)


def _coerce_scalar(value: str, types: set[str]) -> Any:
    text = value.strip()
    if "integer" in types and _INT.fullmatch(text):
        return int(text)
    if "number" in types and _FLOAT.fullmatch(text):
        number = float(text)
        return int(number) if number.is_integer() and "integer" in types else number
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "null" in types and text.lower() in ("null", "none", "~"):
        return None
    return value


def coerce_strings(value: Any, schema: dict) -> Any:
    """``value`` with the strings that ``schema`` types as numbers (or booleans, null) converted.

    Snakemake's ``--config`` hands nested values over as strings: ``seeds=[0,1]`` arrives
    as ``['0', '1']``, ``kmeans='{"n_init": 5}'`` as ``{'n_init': '5'}``. A string that does
    not read as the schema's type is left alone, so validation still names its key.
    """
    if isinstance(value, str):
        types = _types(schema)
        return _coerce_scalar(value, types) if types - {"string"} and "string" not in types else value
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        out = {}
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            out[key] = coerce_strings(item, sub) if sub else item
        return out
    if isinstance(value, list):
        items = schema.get("items")
        return [coerce_strings(v, items) for v in value] if isinstance(items, dict) else value
    return value


def key_path(parts) -> str:
    """A key's place in the config as error messages name it: ``seeds/0``, ``kmeans/n_init``."""
    return "/".join(map(str, parts)) or "(top level)"


def rate_label(rate: float) -> str:
    """A noise rate as file names show it: 0.2, 0.25 (at most 6 decimals, no trailing zeros)."""
    return f"{rate:.6f}".rstrip("0")


def embedding_dim(cfg: dict) -> int:
    ae = cfg["autoencoder"]
    return 64 if ae["arch"] == "conv" else ae["latent"]


def _subset_size(spec: dict, n_classes: int = 10) -> int | None:
    return None if spec["per_class"] is None else n_classes * spec["per_class"]


# ---- a user's own images (source folder or array): what parse time must know ----------

IDX_CLASSES = 10


def find_images(ds: dict) -> _discover.Found | None:
    """The image files of a dataset of source folder (:func:`aeclust.discover.discover`, the
    import step's rule); None for other sources and for a path that is not a folder."""
    if ds.get("source", "idx") != "folder" or not os.path.isdir(ds.get("path", "")):
        return None
    return _discover.discover(ds["path"])


def resolve_labels(ds: dict, found: _discover.Found | None = None) -> str:
    """Where a dataset's labels come from: idx, folders, csv, array or none (``auto`` resolved).
    ``found``: the folder's image files when already discovered (:func:`find_images`)."""
    source, labels = ds.get("source", "idx"), ds.get("labels", "auto")
    if source == "idx":
        return "idx"
    if labels != "auto":
        return labels
    if source == "folder":
        if ds.get("labels_csv"):
            return "csv"
        found = found or find_images(ds)
        # class sub-folders: every image lies in one (the import takes its first folder as the class)
        return "folders" if found and found.files and not found.flat else "none"
    if ds.get("labels_path"):
        return "array"
    path = ds["path"]
    if path.endswith(".npz") and os.path.isfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                return "array" if "labels.npy" in z.namelist() else "none"
        except (OSError, zipfile.BadZipFile):
            return "none"  # the import step names the unreadable file
    return "none"


def count_classes(ds: dict, labels: str, found: _discover.Found | None = None) -> int | None:
    """The number of classes of a labelled dataset, read at parse time (None: cannot tell yet)."""
    if labels == "idx":
        return IDX_CLASSES
    try:
        if labels == "folders":
            found = found or find_images(ds)
            return None if found is None else len(found.classes)
        if labels == "csv":
            with open(ds["labels_csv"], newline="") as f:
                rows = list(csv.reader(f))[1:]
            return len({r[1].strip() for r in rows if len(r) > 1 and r[1].strip()})
        if labels == "array":
            import numpy as np  # only an array's labels need it

            path = ds.get("labels_path") or ds["path"]
            with open(path, "rb") as f:
                if path.endswith(".npz"):
                    with np.load(f, allow_pickle=False) as z:
                        return len(np.unique(z["labels"]))
                return len(np.unique(np.load(f, allow_pickle=False)))
    except (OSError, KeyError, ValueError):
        return None  # the import step names what is wrong with the file
    return None


def has_held_out(ds: dict) -> bool:
    """Whether a user's dataset has a held-out (test) part: ``holdout`` > 0, or an npz that
    brings its own ``split`` array (which make_subsets then uses instead of a draw)."""
    if ds.get("holdout", 0) > 0:
        return True
    path = ds.get("path", "")
    if ds.get("source") == "array" and path.endswith(".npz") and os.path.isfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                return "split.npy" in z.namelist()
        except (OSError, zipfile.BadZipFile):
            return False  # the import step names the unreadable file
    return False


# The settings that take their own-images default when the user did not set them, as key
# paths: without a held-out part every image is clustered and trains the networks (as the
# full preset); with one the held-out images are clustered and the networks train on the rest.
OWN_IMAGE_DEFAULTS = {
    False: {
        "subsets/cluster/split": "all",
        "subsets/cluster/per_class": None,
        "subsets/train/split": "all",
        "subsets/train/per_class": None,
        "subsets/train/exclude_cluster": False,
        "denoise/enabled": False,
    },
    True: {
        "subsets/cluster/split": "test",
        "subsets/cluster/per_class": None,
        "subsets/train/split": "train",
        "subsets/train/per_class": None,
        "subsets/train/exclude_cluster": True,
        "denoise/enabled": False,
    },
}


def is_set(layer: Any, path: str) -> bool:
    """Whether the config ``layer`` (a mapping of mappings) names the key ``path`` (``a/b/c``)."""
    for key in path.split("/"):
        if not isinstance(layer, dict) or key not in layer:
            return False
        layer = layer[key]
    return True


def set_path(cfg: dict, path: str, value: Any) -> None:
    """Set the key ``path`` (``a/b/c``) of ``cfg``, making the mappings on the way."""
    *parents, last = path.split("/")
    for key in parents:
        cfg = cfg.setdefault(key, {})
    cfg[last] = value


def own_image_defaults(cfg: dict, user_layer: dict) -> dict[str, Any]:
    """The subsets and de-noising settings a dataset of the user's own images (source folder
    or array) takes because the user did not set them, as key path -> value; empty for IDX
    data (MNIST and Fashion-MNIST keep config/config.yaml's, the study's design).

    ``cfg``: the whole config (defaults included, validated); ``user_layer``: only what the
    user set (their config files and --config, or a host workflow's ``config:``). What the
    user set always wins; the rest follows :data:`OWN_IMAGE_DEFAULTS` by whether the data
    have a held-out part (:func:`has_held_out`).
    """
    ds = cfg.get("datasets", {}).get(cfg.get("dataset"))
    if not isinstance(ds, dict) or ds.get("source", "idx") == "idx":
        return {}
    defaults = OWN_IMAGE_DEFAULTS[has_held_out(ds)]
    return {path: value for path, value in defaults.items() if not is_set(user_layer, path)}


def resolve_dataset(cfg: dict, found: _discover.Found | None = None) -> None:
    """Fill in what ``auto`` and ``null`` stand for: the dataset's label source (``labels``)
    and, when ``kmeans.k`` is null, the number of classes. Run after validation.
    ``found``: the folder's image files when already discovered (:func:`find_images`)."""
    if cfg["dataset"] not in cfg["datasets"]:
        return  # semantic_errors names it
    ds = cfg["datasets"][cfg["dataset"]]
    found = found or find_images(ds)
    labels = resolve_labels(ds, found)
    if ds.get("source", "idx") != "idx":
        ds["labels"] = labels
    if cfg["kmeans"]["k"] is None and labels != "none":
        cfg["kmeans"]["k"] = count_classes(ds, labels, found)


def source_errors(cfg: dict, found: _discover.Found | None = None) -> Iterator[str]:
    """Settings of a dataset of source folder or array that contradict each other or the
    images: an empty folder, more clusters than images. ``found``: as :func:`resolve_dataset`."""
    name = cfg["dataset"]
    ds = cfg["datasets"][name]
    where = f"datasets/{name}"
    source = ds["source"]
    found = found or find_images(ds)
    labels = resolve_labels(ds, found)
    path = ds["path"]
    k = cfg["kmeans"]["k"]
    if source == "folder" and not os.path.isdir(path):
        yield f"{where}/path: {path!r} is not a folder"
    empty = found is not None and not found.files
    if empty:
        links = f"; {found.skipped_note()}" if found.skipped_links else ""
        yield (
            f"{where}/path: {path} holds no image files ({', '.join(s[1:] for s in _discover.SUFFIXES)}) "
            f"in it or below it{links}"
        )
    elif found is not None and k is not None and k > len(found.files):
        n = len(found.files)
        yield f"kmeans/k: {k} clusters for the {n} images in {path} (allowed: 2..{n})"
    if source == "array" and not os.path.isfile(path):
        yield f"{where}/path: {path!r} is not a file"
    if source == "array" and not path.endswith((".npy", ".npz")):
        yield f"{where}/path: {path!r} (expected an .npy or .npz file)"
    allowed = {"folder": ("folders", "csv", "none"), "array": ("array", "none")}[source]
    if labels not in allowed:
        yield f"{where}/labels: {labels!r} does not apply to source {source} (allowed: auto, {', '.join(allowed)})"
    if labels == "csv" and not ds.get("labels_csv"):
        yield f"{where}/labels_csv: required with labels: csv"
    if labels == "folders" and found is not None and len(found.classes) == 1:
        yield f"{where}/labels: folders, but {path} has a single class sub-folder (clustering needs 2 or more classes; or labels: none)"
    if labels == "none" and k is None and not empty:
        yield f"kmeans/k: required for {name}, which has no labels (the number of clusters to find)"
    if not has_held_out(ds):
        no_split = "" if source == "folder" else f" and {os.path.basename(path)} holds no split array"
        for key in ("cluster", "train"):
            if cfg["subsets"][key]["split"] == "test":
                yield (
                    f"subsets/{key}/split: test, but {where}/holdout is 0{no_split} (no test split); "
                    "use split: all or hold out a fraction"
                )
        if cfg["denoise"]["enabled"]:
            yield (
                f"denoise/enabled: de-noisers are scored on held-out images, and {name} has none: "
                f"set {where}/holdout (e.g. 0.2) or denoise.enabled: false"
            )


def semantic_errors(cfg: dict, found: _discover.Found | None = None) -> Iterator[str]:
    """What the schema cannot say: settings that contradict each other or the dataset, each as
    ``key/path: what was expected``. ``found``: as :func:`resolve_dataset`."""
    if cfg["dataset"] not in cfg["datasets"]:
        yield f"dataset: {cfg['dataset']!r} is not described under datasets (known: {', '.join(sorted(cfg['datasets']))})"
        return
    ds = cfg["datasets"][cfg["dataset"]]
    if ds.get("source", "idx") != "idx":
        yield from source_errors(cfg, found)
        yield from _method_errors(cfg, None)
        yield from denoise_errors(cfg)
        yield from selflabel_errors(cfg)
        return
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
    yield from _method_errors(cfg, _subset_size(sub["cluster"]))
    yield from denoise_errors(cfg)
    yield from selflabel_errors(cfg)


def _method_errors(cfg: dict, n_cluster: int | None) -> Iterator[str]:
    """PCA, UMAP and K-Means settings against the embedding and, when known, the clustered images."""
    dim = embedding_dim(cfg)
    limit = dim if n_cluster is None else min(dim, n_cluster)
    for key, values in (("pca/components", [cfg["pca"]["components"]]), ("pca/sweep", cfg["pca"]["sweep"])):
        for v in values:
            if v > limit:
                yield f"{key}: {v} components is more than the embedding allows (allowed: 1..{limit})"
    for key in ("pca", "umap"):
        extra = set(cfg[key]["epochs"]) - set(cfg["autoencoder"]["epochs"])
        if extra:
            yield f"{key}/epochs: {sorted(extra)} not in autoencoder/epochs {cfg['autoencoder']['epochs']}"
    if n_cluster is not None and cfg["kmeans"]["k"] is not None and cfg["kmeans"]["k"] > n_cluster:
        yield f"kmeans/k: {cfg['kmeans']['k']} clusters for {n_cluster} images (allowed: 2..{n_cluster})"
    umap_used = any(kind.endswith("_umap") for kinds in cfg["clustering"].values() for kind in kinds)
    if umap_used and n_cluster is not None:
        if cfg["umap"]["n_neighbors"] >= n_cluster:
            yield f"umap/n_neighbors: {cfg['umap']['n_neighbors']} neighbours for {n_cluster} images (allowed: 2..{n_cluster - 1})"
        if cfg["umap"]["n_components"] >= n_cluster - 1:
            yield f"umap/n_components: {cfg['umap']['n_components']} dimensions for {n_cluster} images (allowed: 1..{n_cluster - 2})"


def denoise_errors(cfg: dict) -> Iterator[str]:
    den, cluster, train = cfg["denoise"], cfg["subsets"]["cluster"], cfg["subsets"]["train"]
    splits = {cluster["split"], train["split"]}
    ds = cfg["datasets"][cfg["dataset"]]
    no_held_out = ds.get("source", "idx") != "idx" and not has_held_out(ds)  # source_errors says so
    if den["enabled"] and not no_held_out and not train["exclude_cluster"] and (len(splits) == 1 or "all" in splits):
        yield (
            f"denoise/enabled: de-noisers are scored on the clustering images, which may be training images here "
            f"(subsets.train.exclude_cluster: false, splits {cluster['split']} and {train['split']}); "
            "set denoise.enabled: false or make the sets disjoint"
        )
    labels = [rate_label(r) for r in den["rates"]]
    if len(set(labels)) < len(labels):
        yield f"denoise/rates: {den['rates']} name the same rate twice at 6 decimals ({labels})"
    per_class = den["eval_per_class"]
    if per_class is not None and cluster["per_class"] is not None and per_class > cluster["per_class"]:
        yield f"denoise/eval_per_class: {per_class} images per class, the clustering subset holds {cluster['per_class']} (allowed: 1..{cluster['per_class']})"


def selflabel_errors(cfg: dict) -> Iterator[str]:
    sl = cfg.get("selflabel")
    if not sl or not sl["enabled"]:
        return
    if not sl["from"]:
        yield "selflabel/from: empty; name the clusterings to relabel (e.g. [gmm/ae_e80_umap]) or set selflabel.enabled: false"
    known = [f"{algo}/{feat}" for algo, feat in clusterings(cfg)]
    missing = [m for m in sl["from"] if m not in known]
    if missing:
        yield f"selflabel/from: {', '.join(missing)} is not a clustering of this config (known: {', '.join(known)})"
    elif sl["space"] == "ae":
        no_ae = [m for m in sl["from"] if _methods.parse(m).epochs is None]
        if no_ae:
            yield (
                "selflabel/space: 'ae' compares neighbours in the codes of the autoencoder a clustering used, "
                f"and {', '.join(no_ae)} used none (use space raw or source)"
            )
    n_cluster = _subset_size(cfg["subsets"]["cluster"])
    if sl["criterion"] == "knn" and n_cluster is not None and sl["k"] >= n_cluster:
        yield f"selflabel/k: {sl['k']} neighbours for {n_cluster} images (allowed: 1..{n_cluster - 1})"


# ---- the clusterings a config asks for (common.smk's target lists use the same) ----------

# Kinds of feature set that config's `clustering` names, in the summary table's order.
FEATURE_KINDS = ("raw", "raw_umap", "ae", "ae_pca", "ae_umap")


def features_of(cfg: dict, kind: str) -> list[str]:
    """The feature sets of one kind: raw pixels, embeddings, PCA or UMAP of either."""
    pca, epochs = cfg["pca"], cfg["autoencoder"]["epochs"]
    return {
        "raw": ["raw"],
        "raw_umap": ["raw_umap"],
        "ae": [f"ae_e{e}" for e in epochs],
        "ae_pca": [f"ae_e{e}_pca{pca['components']}" for e in pca["epochs"]],
        "ae_umap": [f"ae_e{e}_umap" for e in cfg["umap"]["epochs"]],
    }[kind]


def clusterings(cfg: dict) -> list[tuple[str, str]]:
    """(algorithm, feature set) pairs, by feature set, then K-Means before the mixture."""
    return [
        (algo, f)
        for kind in FEATURE_KINDS
        for f in features_of(cfg, kind)
        for algo in ("kmeans", "gmm")
        if kind in cfg["clustering"][algo]
    ]


def selflabel_sources(cfg: dict) -> list[tuple[str, str]]:
    """The clusterings the self-labeling stage relabels (``selflabel.from``, each checked by
    the loader to be a clustering of this config), as (algorithm, feature set); none when off."""
    sl = cfg["selflabel"]
    return [tuple(m.split("/", 1)) for m in sl["from"]] if sl["enabled"] else []


# ---- the loader ---------------------------------------------------------------------------


class ConfigError(ValueError):
    """The configuration cannot be used; one line per problem, ``config error at <key/path>: <what>``."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)  # each "key/path: what was expected"
        super().__init__("\n".join(f"config error at {p}" for p in self.problems))


def _read(source: dict | str | os.PathLike) -> dict:
    if isinstance(source, dict):
        return copy.deepcopy(source)
    import yaml

    with open(source) as f:
        return yaml.safe_load(f)


def merge(base: dict, over: dict) -> dict:
    """``over`` laid onto ``base`` in place, mapping into mapping (as Snakemake layers config files)."""
    for key, value in over.items():
        if isinstance(value, dict):
            below = base.get(key)
            base[key] = merge(below if isinstance(below, dict) else {}, value)
        else:
            base[key] = value
    return base


def ordered_like(value: Any, model: Any) -> Any:
    """``value`` with each mapping's keys in ``model``'s order, keys ``model`` lacks after."""
    if not (isinstance(value, dict) and isinstance(model, dict)):
        return value
    keys = [k for k in model if k in value] + [k for k in value if k not in model]
    return {k: ordered_like(value[k], model.get(k)) for k in keys}


def schema_problem(cfg: dict, schema: dict) -> str | None:
    """The first key of ``cfg`` that breaks ``schema`` (``key/path: what``), None when none does;
    ``cfg`` gains the schema's ``default:`` values of the keys it lacks, as it is checked."""
    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def properties_with_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(key, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, properties, instance, schema)

    validator = validators.extend(Draft202012Validator, {"properties": properties_with_defaults})(schema)
    for error in validator.iter_errors(cfg):
        return f"{key_path(error.absolute_path)}: {error.message}"
    return None


def load_config(
    cfg: dict,
    user_layer: dict | None = None,
    *,
    defaults: dict | str | os.PathLike = DEFAULTS_FILE,
    schema: dict | str | os.PathLike = SCHEMA_FILE,
    note: Callable[[str], Any] | None = None,
) -> dict:
    """The run's configuration, resolved and checked; raises :class:`ConfigError`.

    ``cfg``: the settings as they arrive (Snakemake's ``config``: config files and
    ``--config`` merged, nested command-line values as strings). ``user_layer``: only what
    the user set, without config/config.yaml (default: all of ``cfg``); it decides which own-
    images defaults apply. ``defaults`` and ``schema``: mappings or YAML files (default:
    config/config.yaml and the workflow's schema). ``note``: called with one line for what
    the user should know but is no error (symbolic links skipped in an image folder).

    The steps: the defaults under ``cfg`` (a host workflow's ``config:`` replaces the default
    file, so they are laid under whatever arrives); strings typed as the schema says; the
    schema; a user's own images' defaults for what the user did not set; ``labels: auto`` and
    ``kmeans.k: null`` resolved; the checks that need more than one key. Every mapping ends
    in config/config.yaml's key order: Snakemake compares dict params in order, and the order
    would otherwise follow how the user's files were written and layered.
    """
    user = copy.deepcopy(cfg if user_layer is None else user_layer)
    defaults, schema = _read(defaults), _read(schema)
    resolved = merge(copy.deepcopy(defaults), copy.deepcopy(cfg))
    resolved = coerce_strings(resolved, schema)
    problem = schema_problem(resolved, schema)
    if problem:
        raise ConfigError([problem])
    for key, value in own_image_defaults(resolved, user).items():
        set_path(resolved, key, value)
    ds = resolved["datasets"].get(resolved["dataset"])
    found = find_images(ds) if ds is not None else None  # the folder walked once
    if found is not None and found.skipped_links and note is not None:
        note(f"datasets/{resolved['dataset']}/path: {found.skipped_note()}")
    resolve_dataset(resolved, found)
    problems = list(semantic_errors(resolved, found))
    if problems:
        raise ConfigError(problems)
    return ordered_like(resolved, defaults)
