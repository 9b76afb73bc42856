"""The workflow's configuration: typing of command-line values and the checks that need
more than one key. The JSON Schema (workflow/schemas/config.schema.yaml) checks each key.

Self-contained on purpose (standard library only, no other aeclust module): the workflow
loads this file by its path at parse time, so that a host workflow using aeclust as a
module needs neither an installed aeclust nor a changed ``sys.path``.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

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


def _subset_size(spec: dict) -> int | None:
    return None if spec["per_class"] is None else 10 * spec["per_class"]


def semantic_errors(cfg: dict) -> Iterator[str]:
    """What the schema cannot say: settings that contradict each other or the dataset."""
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
    dim = embedding_dim(cfg)
    n_cluster = _subset_size(sub["cluster"])
    limit = dim if n_cluster is None else min(dim, n_cluster)
    for key, values in (("pca/components", [cfg["pca"]["components"]]), ("pca/sweep", cfg["pca"]["sweep"])):
        for v in values:
            if v > limit:
                yield f"{key}: {v} components is more than the embedding allows (allowed: 1..{limit})"
    for key in ("pca", "umap"):
        extra = set(cfg[key]["epochs"]) - set(cfg["autoencoder"]["epochs"])
        if extra:
            yield f"{key}/epochs: {sorted(extra)} not in autoencoder/epochs {cfg['autoencoder']['epochs']}"
    if n_cluster is not None and cfg["kmeans"]["k"] > n_cluster:
        yield f"kmeans/k: {cfg['kmeans']['k']} clusters for {n_cluster} images (allowed: 2..{n_cluster})"
    umap_used = any(kind.endswith("_umap") for kinds in cfg["clustering"].values() for kind in kinds)
    if umap_used and n_cluster is not None:
        if cfg["umap"]["n_neighbors"] >= n_cluster:
            yield f"umap/n_neighbors: {cfg['umap']['n_neighbors']} neighbours for {n_cluster} images (allowed: 2..{n_cluster - 1})"
        if cfg["umap"]["n_components"] >= n_cluster - 1:
            yield f"umap/n_components: {cfg['umap']['n_components']} dimensions for {n_cluster} images (allowed: 1..{n_cluster - 2})"
    yield from denoise_errors(cfg)
    yield from selflabel_errors(cfg)


def denoise_errors(cfg: dict) -> Iterator[str]:
    den, cluster, train = cfg["denoise"], cfg["subsets"]["cluster"], cfg["subsets"]["train"]
    splits = {cluster["split"], train["split"]}
    if den["enabled"] and not train["exclude_cluster"] and (len(splits) == 1 or "all" in splits):
        yield (f"denoise/enabled: de-noisers are scored on the clustering images, which may be training images here "
               f"(subsets.train.exclude_cluster: false, splits {cluster['split']} and {train['split']}); "
               "set denoise.enabled: false or make the sets disjoint")
    labels = [rate_label(r) for r in den["rates"]]
    if len(set(labels)) < len(labels):
        yield f"denoise/rates: {den['rates']} name the same rate twice at 6 decimals ({labels})"
    per_class = den["eval_per_class"]
    if per_class is not None and cluster["per_class"] is not None and per_class > cluster["per_class"]:
        yield f"denoise/eval_per_class: {per_class} images per digit, the clustering subset holds {cluster['per_class']} (allowed: 1..{cluster['per_class']})"


def selflabel_errors(cfg: dict) -> Iterator[str]:
    sl = cfg.get("selflabel")
    if not sl or not sl["enabled"]:
        return
    if not sl["from"]:
        yield "selflabel/from: empty; name the clusterings to relabel (e.g. [gmm/ae_e80_umap]) or set selflabel.enabled: false"
    n_cluster = _subset_size(cfg["subsets"]["cluster"])
    if sl["criterion"] == "knn" and n_cluster is not None and sl["k"] >= n_cluster:
        yield f"selflabel/k: {sl['k']} neighbours for {n_cluster} images (allowed: 1..{n_cluster - 1})"


def selflabel_settings(cfg: dict) -> dict:
    """The self-labeling rule's settings: ``selflabel`` without the keys that pick its jobs
    (enabled, from), the dataset's own augmentation (``datasets.<name>.augment``, e.g.
    horizontal flips for clothes) over ``selflabel.augment``."""
    sl = cfg["selflabel"]
    settings = {k: v for k, v in sl.items() if k not in ("enabled", "from")}
    settings["augment"] = {**sl["augment"], **cfg["datasets"][cfg["dataset"]].get("augment", {})}
    return settings

