"""Method ids, parsed in one place.

A method id is ``classifier`` (the supervised reference) or ``<algo>/<features>``:
algo ``kmeans`` | ``gmm``; features ``raw`` (pixels) or ``ae_e<E>`` (the embeddings of
the autoencoder trained for E epochs), optionally followed by ``_pca<N>`` (N principal
components) or ``_umap`` (a UMAP embedding). Examples: ``kmeans/raw``,
``kmeans/ae_e20_pca32``, ``gmm/ae_e80_umap``. A self-labeled method names the
clustering it starts from: ``selflabel/gmm_ae_e80_umap`` (a CNN trained on the confident
part of ``gmm/ae_e80_umap``).

The grammar is written once, here, as regular expressions: :func:`parse` reads ids with
them, and the workflow builds its wildcard constraints from :data:`WILDCARDS` (stdlib
only: common.smk loads this file by its path at parse time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLASSIFIER = "classifier"
ALGORITHMS = {"kmeans": "K-Means", "gmm": "GMM"}  # the clusterings, by their id
SELFLABEL = "selflabel"

# The feature sets: the base (pixels, or the codes of the autoencoder trained for E epochs),
# optionally its UMAP, or the PCA of the codes (PCA of pixels is not a feature set).
CLUSTERING_RE = "|".join(ALGORITHMS)
BASE_RE = r"raw|ae_e\d+"
FEATURES_RE = rf"(?:{BASE_RE})(?:_umap)?|ae_e\d+_pca\d+"
_ID = re.compile(
    rf"(?P<algo>{CLUSTERING_RE})/(?:(?P<raw>raw)|ae_e(?P<epochs>\d+))(?:_pca(?P<pca>\d+)|_(?P<umap>umap))?"
)
# The workflow's wildcards in paths such as ``clusters/{algo}/{feat}_s{seed}.npz``: algo a
# clustering or ``selflabel``; feat a feature set, or for ``selflabel`` the clustering it
# relabels written ``<algo>_<features>`` (``gmm_ae_e2_umap``); base what UMAP maps.
WILDCARDS = {
    "algo": rf"{CLUSTERING_RE}|{SELFLABEL}",
    "clustering": CLUSTERING_RE,
    "feat": rf"(?:(?:{CLUSTERING_RE})_)?(?:{FEATURES_RE})",
    "base": BASE_RE,
}


@dataclass(frozen=True)
class Method:
    id: str
    algo: str | None  # None for the classifier
    epochs: int | None  # None: pixels (or the classifier)
    pca: int | None = None
    umap: bool = False
    source: str | None = None  # selflabel: the clustering it relabels

    @property
    def supervised(self) -> bool:
        return self.id == CLASSIFIER

    @property
    def base(self) -> str:
        """The feature set it starts from: ``raw`` or ``ae_e<E>`` (``classifier`` for the classifier)."""
        if self.supervised:
            return CLASSIFIER
        return "raw" if self.epochs is None else f"ae_e{self.epochs}"

    @property
    def plain(self) -> str:
        """The id of the same algorithm on the base features, without PCA or UMAP."""
        if self.source is not None:
            return parse(self.source).plain
        return self.id if self.supervised else f"{self.algo}/{self.base}"


def parse(method: str) -> Method:
    """The parts of a method id; ValueError naming the id for anything else."""
    if method == CLASSIFIER:
        return Method(CLASSIFIER, None, None)
    if method.startswith(SELFLABEL + "/"):
        src = parse(method[len(SELFLABEL) + 1 :].replace("_", "/", 1))
        if src.supervised or src.source is not None:
            raise ValueError(f"method id {method!r}: self-labeling starts from a clustering, not {src.id!r}")
        return Method(method, SELFLABEL, src.epochs, src.pca, src.umap, source=src.id)
    m = _ID.fullmatch(method)
    if not m or not re.fullmatch(FEATURES_RE, method.split("/", 1)[1]):
        raise ValueError(
            f"method id {method!r}: expected 'classifier', '<algo>/(raw|ae_e<E>)[_umap]' or '<algo>/ae_e<E>_pca<N>' "
            f"(algo: {', '.join(ALGORITHMS)}), or '{SELFLABEL}/<algo>_<features>'"
        )
    return Method(
        method, m["algo"], None if m["raw"] else int(m["epochs"]), int(m["pca"]) if m["pca"] else None, bool(m["umap"])
    )


def features_text(method: Method) -> str:
    """``pixels``, ``AE 20 epochs``, ``AE 20 epochs + PCA 32``, ``pixels + UMAP`` ..."""
    text = "pixels" if method.epochs is None else f"AE {method.epochs} epochs"
    if method.pca is not None:
        text += f" + PCA {method.pca}"
    if method.umap:
        text += " + UMAP"
    return text


def describe(method: str) -> str:
    """Human-readable name of a method id such as ``kmeans/ae_e20_pca32``."""
    m = parse(method)
    if m.supervised:
        return "supervised MLP (reference)"
    if m.source is not None:
        return f"Self-labeled CNN from {describe(m.source)}"
    return f"{ALGORITHMS.get(m.algo, m.algo)} on {features_text(m)}"


def selflabel_source(feat: str) -> tuple[str, str]:
    """The clustering a self-labeled method relabels, as (algo, feature set), from its
    ``feat`` wildcard: ``gmm_ae_e2_umap`` -> (``gmm``, ``ae_e2_umap``)."""
    algo, _, features = feat.partition("_")
    return algo, features


def space(algo: str, feat: str) -> str:
    """The feature set a method's clusters are judged in: its own, or for a self-labeled
    method the one its source clustering used (``selflabel``, ``gmm_ae_e2_umap``: ``ae_e2_umap``)."""
    return selflabel_source(feat)[1] if algo == SELFLABEL else feat


def base_of(feat: str) -> str:
    """The base feature set that ``feat`` starts from: ``raw`` or ``ae_e<E>``
    (``ae_e2_umap``: ``ae_e2``; ``gmm_ae_e2_umap``: ``ae_e2``)."""
    m = re.search(BASE_RE, feat)
    if m is None:
        raise ValueError(f"feature set {feat!r}: expected one starting from raw or ae_e<E>")
    return m.group(0)
