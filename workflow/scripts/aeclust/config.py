"""The workflow's configuration: typing of command-line values and the checks that need
more than one key. The JSON Schema (workflow/schemas/config.schema.yaml) checks each key.

Self-contained on purpose (standard library only, no other aeclust module): the workflow
loads this file by its path at parse time, so that a host workflow using aeclust as a
module needs neither an installed aeclust nor a changed ``sys.path``.
"""

from __future__ import annotations

import csv
import os
import re
import zipfile
from collections.abc import Iterator
from typing import Any

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
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def _has_images(folder: str) -> bool:
    for _root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(n.lower().endswith(_IMAGE_SUFFIXES) and not n.startswith(".") for n in names):
            return True
    return False


def _class_folders(folder: str) -> list[str]:
    """Sub-folders of ``folder`` that hold image files (classes when labels come from folders)."""
    with os.scandir(folder) as it:
        subs = sorted(e.path for e in it if e.is_dir() and not e.name.startswith("."))
    return [d for d in subs if _has_images(d)]


def resolve_labels(ds: dict) -> str:
    """Where a dataset's labels come from: idx, folders, csv, array or none (``auto`` resolved)."""
    source, labels = ds.get("source", "idx"), ds.get("labels", "auto")
    if source == "idx":
        return "idx"
    if labels != "auto":
        return labels
    if source == "folder":
        if ds.get("labels_csv"):
            return "csv"
        path = ds["path"]
        if os.path.isdir(path):
            with os.scandir(path) as it:
                top = [e for e in it if not e.name.startswith(".")]
            flat = any(e.is_file() and e.name.lower().endswith(_IMAGE_SUFFIXES) for e in top)
            if not flat and any(e.is_dir() for e in top):
                return "folders"
        return "none"
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


def count_classes(ds: dict, labels: str) -> int | None:
    """The number of classes of a labelled dataset, read at parse time (None: cannot tell yet)."""
    if labels == "idx":
        return IDX_CLASSES
    try:
        if labels == "folders":
            return len(_class_folders(ds["path"]))
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


def resolve_dataset(cfg: dict) -> None:
    """Fill in what ``auto`` and ``null`` stand for: the dataset's label source (``labels``)
    and, when ``kmeans.k`` is null, the number of classes. Run after validation."""
    if cfg["dataset"] not in cfg["datasets"]:
        return  # semantic_errors names it
    ds = cfg["datasets"][cfg["dataset"]]
    labels = resolve_labels(ds)
    if ds.get("source", "idx") != "idx":
        ds["labels"] = labels
    if cfg["kmeans"]["k"] is None and labels != "none":
        cfg["kmeans"]["k"] = count_classes(ds, labels)


def source_errors(cfg: dict) -> Iterator[str]:
    """Settings of a dataset of source folder or array that contradict each other."""
    name = cfg["dataset"]
    ds = cfg["datasets"][name]
    where = f"datasets/{name}"
    source, labels = ds["source"], resolve_labels(ds)
    path = ds["path"]
    if source == "folder" and not os.path.isdir(path):
        yield f"{where}/path: {path!r} is not a folder"
    if source == "array" and not os.path.isfile(path):
        yield f"{where}/path: {path!r} is not a file"
    if source == "array" and not path.endswith((".npy", ".npz")):
        yield f"{where}/path: {path!r} (expected an .npy or .npz file)"
    allowed = {"folder": ("folders", "csv", "none"), "array": ("array", "none")}[source]
    if labels not in allowed:
        yield f"{where}/labels: {labels!r} does not apply to source {source} (allowed: auto, {', '.join(allowed)})"
    if labels == "csv" and not ds.get("labels_csv"):
        yield f"{where}/labels_csv: required with labels: csv"
    if source == "folder" and labels == "folders" and os.path.isdir(path) and len(_class_folders(path)) == 1:
        yield f"{where}/labels: folders, but {path} has a single class sub-folder (clustering needs 2 or more classes; or labels: none)"
    if labels == "none" and cfg["kmeans"]["k"] is None:
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


def semantic_errors(cfg: dict) -> Iterator[str]:
    """What the schema cannot say: settings that contradict each other or the dataset."""
    if cfg["dataset"] not in cfg["datasets"]:
        yield f"dataset: {cfg['dataset']!r} is not described under datasets (known: {', '.join(sorted(cfg['datasets']))})"
        return
    ds = cfg["datasets"][cfg["dataset"]]
    if ds.get("source", "idx") != "idx":
        yield from source_errors(cfg)
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
    n_cluster = _subset_size(cfg["subsets"]["cluster"])
    if sl["criterion"] == "knn" and n_cluster is not None and sl["k"] >= n_cluster:
        yield f"selflabel/k: {sl['k']} neighbours for {n_cluster} images (allowed: 1..{n_cluster - 1})"


def deskews(cfg: dict) -> bool:
    """Whether the subsets are deskewed: ``subsets.deskew``, unless the dataset's entry says its
    images have no slant to undo (``datasets.<name>.deskew: false``, e.g. clothes)."""
    return bool(cfg["subsets"]["deskew"]) and cfg["datasets"][cfg["dataset"]].get("deskew", True)


def selflabel_settings(cfg: dict) -> dict:
    """The self-labeling rule's settings: ``selflabel`` without the keys that pick its jobs
    (enabled, from), the dataset's own augmentation (``datasets.<name>.augment``, e.g.
    horizontal flips for clothes) over ``selflabel.augment``."""
    sl = cfg["selflabel"]
    settings = {k: v for k, v in sl.items() if k not in ("enabled", "from")}
    settings["augment"] = {**sl["augment"], **cfg["datasets"][cfg["dataset"]].get("augment", {})}
    return settings
